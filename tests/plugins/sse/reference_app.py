"""The reference's "Server-Sent Events" example as it is written there, plus what a complete
module needs around it (the imports and the app). Its config file turns the plugin on."""

from datetime import datetime

from pyframe import PyFrameApp

app = PyFrameApp()

# --- the reference, unchanged ---
from pyframe.sse import SSEManager  # noqa: E402

sse_manager = SSEManager()


@app.route('/events')
async def event_stream(context):
    """Server-Sent Events endpoint"""
    async def event_generator():
        # Send initial connection event
        yield {
            'event': 'connected',
            'data': {'timestamp': datetime.now().isoformat()}
        }
        # Subscribe to events for this user
        user_id = context.user.id if context.user else 'anonymous'
        async for event in sse_manager.subscribe(f"user_{user_id}"):
            yield event
    return {
        'status': 200,
        'headers': {
            'Content-Type': 'text/event-stream',
            'Cache-Control': 'no-cache',
            'Connection': 'keep-alive'
        },
        'body': event_generator()
    }
# --- end of the reference ---


async def send_notification():
    # "Send events from other parts of your application"
    await sse_manager.send_event('user_123', {
        'event': 'notification',
        'data': {'message': 'You have a new message'}
    })
