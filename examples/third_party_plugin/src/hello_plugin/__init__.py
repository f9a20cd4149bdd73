"""An example third-party pyframe plugin."""

from __future__ import annotations

import csv
import io

from pyframe.plugin import BadRequest, MiddlewareOrder, PluginConfig, Route, hookimpl

__all__ = ["HelloPlugin", "HelloConfig"]


class HelloConfig(PluginConfig):
    greeting: str = "Hello"


def decode_csv(body: bytes, content_type: str) -> list[list[str]]:
    try:
        return list(csv.reader(io.StringIO(body.decode("utf-8"), newline=""), strict=True))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise BadRequest(detail=f"malformed CSV body: {exc}") from None


class HelloPlugin:
    def __init__(self) -> None:
        self.config = HelloConfig()

    @hookimpl
    def pyframe_get_config_schema(self):
        return HelloConfig

    @hookimpl
    def pyframe_configure_plugin(self, app, config):
        self.config = config

    @hookimpl
    def pyframe_add_routes(self, app):
        greeting = self.config.greeting

        async def hello(context):
            return {"message": f"{greeting}, {context.params['name']}!"}

        return [Route("/hello/<name>", ["GET"], hello)]

    @hookimpl
    def pyframe_add_middleware(self, app):
        greeting = self.config.greeting

        async def hello_header(context, call_next):
            response = await call_next(context)
            response.headers["X-Hello"] = greeting
            return response

        hello_header.order = MiddlewareOrder.APP
        return [hello_header]

    @hookimpl
    def pyframe_add_body_decoders(self, app):
        return {"text/csv": decode_csv}

    @hookimpl
    def pyframe_add_commands(self, subparsers):
        command = subparsers.add_parser("hello", help="greet someone (from the hello plugin)")
        command.add_argument("name")
        command.set_defaults(func=lambda args: print(f"Hello, {args.name}!") or 0)
