"""The API reference's examples that need no plugin, as an app. Each handler and middleware body
is the reference's, unchanged; only the imports they assume and the app-domain stand-ins
(`User`, `Dashboard`, the upload folder) are supplied here."""

import json
import os
import time
import traceback
import uuid

from pyframe import PyFrameApp
from pyframe.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse

UPLOADS = os.environ.get("SEED_UPLOADS", "/uploads")


class User:
    def __init__(self, name):
        self.name = name

    @classmethod
    async def all(cls):
        return [cls("ada"), cls("grace")]

    def to_dict(self):
        return {"name": self.name}


class Dashboard:
    def __init__(self, user):
        self.user = user

    def render(self):
        return f"<h1>Dashboard for {self.user}</h1>"


def create_app(file_path):
    app = PyFrameApp()

    @app.route('/users/<user_id>')
    async def get_user(context):
        user_id = context.params['user_id']
        query = context.query_params.get('include')
        return {'user_id': user_id, 'include': query}

    @app.route('/hello')
    async def hello(context):
        return {
            'status': 200,
            'headers': {'Content-Type': 'text/plain'},
            'body': 'Hello, World!'
        }

    @app.route('/api/users')
    async def get_users(context):
        users = await User.all()
        return {
            'status': 200,
            'headers': {'Content-Type': 'application/json'},
            'body': json.dumps([user.to_dict() for user in users])
        }

    @app.route('/dashboard')
    async def dashboard(context):
        dashboard_component = Dashboard(user=context.user)
        return {
            'status': 200,
            'headers': {'Content-Type': 'text/html'},
            'body': dashboard_component.render()
        }

    @app.route('/old-path')
    async def redirect_old_path(context):
        return {
            'status': 302,
            'headers': {'Location': '/new-path'}
        }

    @app.route('/download/<filename>')
    async def download_file(context):
        filename = context.params['filename']
        file_path = f'{UPLOADS}/{filename}'

        if not os.path.exists(file_path):
            return {'status': 404, 'body': 'File not found'}

        with open(file_path, 'rb') as f:
            content = f.read()

        return {
            'status': 200,
            'headers': {
                'Content-Type': 'application/octet-stream',
                'Content-Disposition': f'attachment; filename="{filename}"',
                'Content-Length': str(len(content))
            },
            'body': content
        }

    @app.route('/api/data')
    async def api_data(context):
        data = {'message': 'Hello, API!'}
        return JSONResponse(data, status=200)

    @app.route('/page')
    async def page(context):
        html = '<h1>Welcome</h1>'
        return HTMLResponse(html)

    @app.route('/redirect')
    async def redirect(context):
        return RedirectResponse('/destination', status=302)

    @app.route('/file')
    async def serve_file(context):
        return FileResponse(file_path, filename='download.pdf')

    @app.route('/value-error')
    async def value_error(context):
        raise ValueError("bad value")

    @app.route('/permission-error')
    async def permission_error(context):
        raise PermissionError("not yours")

    @app.route('/crash')
    async def crash(context):
        raise RuntimeError("internal detail")

    async def my_middleware(context, call_next):
        """Custom middleware function"""
        # Pre-processing
        start_time = time.time()
        print(f"Request started: {context.path}")

        # Call next middleware/handler
        response = await call_next(context)

        # Post-processing
        duration = time.time() - start_time
        print(f"Request completed in {duration:.3f}s")

        # Modify response
        response.setdefault('headers', {})
        response['headers']['X-Response-Time'] = f"{duration:.3f}s"

        return response

    # Register middleware
    app.middleware.append(my_middleware)

    async def request_id_middleware(context, call_next):
        """Add unique request ID to each request"""
        request_id = str(uuid.uuid4())
        context.request_id = request_id

        response = await call_next(context)

        response.setdefault('headers', {})
        response['headers']['X-Request-ID'] = request_id

        return response

    async def security_headers_middleware(context, call_next):
        """Add security headers to responses"""
        response = await call_next(context)

        security_headers = {
            'X-Content-Type-Options': 'nosniff',
            'X-Frame-Options': 'DENY',
            'X-XSS-Protection': '1; mode=block',
            'Strict-Transport-Security': 'max-age=31536000; includeSubDomains',
            'Content-Security-Policy': "default-src 'self'"
        }

        response.setdefault('headers', {})
        response['headers'].update(security_headers)

        return response

    async def error_handling_middleware(context, call_next):
        """Global error handling"""
        try:
            return await call_next(context)
        except ValueError as e:
            return {
                'status': 400,
                'headers': {'Content-Type': 'application/json'},
                'body': json.dumps({'error': 'Bad Request', 'message': str(e)})
            }
        except PermissionError as e:
            return {
                'status': 403,
                'headers': {'Content-Type': 'application/json'},
                'body': json.dumps({'error': 'Forbidden', 'message': str(e)})
            }
        except Exception as e:
            # Log error
            print(f"Unhandled error: {e}")
            print(traceback.format_exc())

            if context.app.debug:
                return {
                    'status': 500,
                    'headers': {'Content-Type': 'text/plain'},
                    'body': traceback.format_exc()
                }
            else:
                return {
                    'status': 500,
                    'headers': {'Content-Type': 'application/json'},
                    'body': json.dumps({'error': 'Internal Server Error'})
                }

    class ServerMetrics:
        """Collect server performance metrics"""

        def __init__(self):
            self.request_count = 0
            self.total_response_time = 0
            self.error_count = 0
            self.start_time = time.time()

        def record_request(self, response_time, status_code):
            """Record request metrics"""
            self.request_count += 1
            self.total_response_time += response_time
            if status_code >= 400:
                self.error_count += 1

        def get_stats(self):
            """Get current server statistics"""
            uptime = time.time() - self.start_time
            avg_response_time = (
                self.total_response_time / self.request_count
                if self.request_count > 0 else 0
            )

            return {
                'uptime_seconds': uptime,
                'request_count': self.request_count,
                'error_count': self.error_count,
                'error_rate': self.error_count / self.request_count if self.request_count > 0 else 0,
                'avg_response_time': avg_response_time,
                'requests_per_second': self.request_count / uptime if uptime > 0 else 0
            }

    # Global metrics instance
    server_metrics = ServerMetrics()

    # Metrics middleware
    async def metrics_middleware(context, call_next):
        start_time = time.time()

        response = await call_next(context)

        response_time = time.time() - start_time
        status_code = response.get('status', 200)
        server_metrics.record_request(response_time, status_code)

        return response

    # Metrics endpoint
    @app.route('/admin/metrics')
    async def get_metrics(context):
        stats = server_metrics.get_stats()
        return {
            'status': 200,
            'headers': {'Content-Type': 'application/json'},
            'body': json.dumps(stats)
        }

    app.middleware.append(metrics_middleware)
    app.middleware.append(error_handling_middleware)
    app.middleware.append(request_id_middleware)
    app.middleware.append(security_headers_middleware)
    return app
