"""The store's plugin: records each session in the results store (runner/store.py) as it
runs, a transaction per finished trial.  The store's code is imported when a session
starts, not by every command."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runner import hookimpl

if TYPE_CHECKING:
    from runner.results import SessionResult, TrialResult
    from runner.session import Session
    from runner.spec import Trial
    from runner.store import Store, StoreError


class SessionRecorder:
    """Writes one session to the store, a transaction per finished trial."""

    def __init__(self, session: Session, store: Store) -> None:
        self.store = store
        self.failed = False
        every = (t for e in session.experiments for t in e.trials)
        self.position = {t.id: i for i, t in enumerate(every)}

    @hookimpl
    def runner_trial_done(self, session: Session, trial: Trial, result: TrialResult) -> None:
        from runner.store import StoreError

        try:
            self.store.add_trial(session.run_id, self.position.get(trial.id, -1), result)
        except StoreError as exc:  # a full disk must not cost the session or its JSON
            self._warn(session, exc)

    @hookimpl
    def runner_session_finish(self, session: Session, result: SessionResult) -> None:
        from runner.store import StoreError

        session.host.unregister(self)
        try:
            self.store.finish_session(
                session.run_id, result.finished, result.interrupted, result.environment
            )
        except StoreError as exc:
            self._warn(session, exc)
        finally:
            self.store.close()

    def _warn(self, session: Session, exc: StoreError) -> None:
        import sys

        if not self.failed:
            self.failed = True
            output = session.options.output
            keep = f"the JSON ({output}) holds them all" if output else "pass -o FILE.json"
            print(f"runner: warning: {exc}; trials from here on may be missing from the "
                  f"store: {keep}", file=sys.stderr)  # fmt: skip


@hookimpl
def runner_session_start(session: Session) -> None:
    from runner.store import Store, store_path

    path = store_path(session.options)
    if path is None:
        return
    store = Store(path)
    try:
        store.begin_session(session)
    except BaseException:
        store.close()
        raise
    session.host.register(SessionRecorder(session, store), "store-recorder")
