"""payport's domain: entities, value objects, state machines and events.

Pure: imports nothing of asyncio, I/O libraries or the outer layers of payport.
"""
