"""The coroutine model's workloads: greenlets, gevent, asyncio and threads side by side."""
