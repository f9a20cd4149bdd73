"""The API reference's "WebSocket Handler" example, as an app. The handler and the manager are
the reference's, unchanged; only what the snippet assumes (the imports, ``app``) is supplied."""

from datetime import datetime

from pyframe import PyFrameApp

app = PyFrameApp()

from pyframe.websockets import WebSocketManager  # noqa: E402  (where the reference has it)
ws_manager = WebSocketManager()
@app.websocket('/ws/chat')
async def chat_websocket(websocket):
    """WebSocket endpoint for chat"""
    await ws_manager.connect(websocket)
    try:
        while True:
            # Receive message
            message = await websocket.receive_json()
            # Process message
            processed_message = {
                'user': message['user'],
                'text': message['text'],
                'timestamp': datetime.now().isoformat()
            }
            # Broadcast to all connected clients
            await ws_manager.broadcast(processed_message)
    except Exception as e:
        print(f"WebSocket error: {e}")
    finally:
        await ws_manager.disconnect(websocket)
