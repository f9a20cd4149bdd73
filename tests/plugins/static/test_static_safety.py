"""Nothing outside the mounted folder is ever served, however the path is spelled.

Requests go over a raw socket so the path arrives exactly as written.
"""

from __future__ import annotations

import pytest

from pyframe import PyFrameApp
from pyframe.testing import TestClient

SECRET = b"TOP-SECRET-OUTSIDE-THE-MOUNT"  # what the `site` fixture puts outside the mount


@pytest.fixture(autouse=True)
def same_secret(secret):
    assert secret == SECRET


@pytest.fixture
def app(site):
    app = PyFrameApp()
    app.add_static_path("/static/", str(site))
    return app


async def assert_refused(app, raw_get, target):
    async with TestClient(app) as client:
        status, _, body = await raw_get(client.port, target)
        assert status in (403, 404), target
        assert SECRET not in body


async def test_the_secret_is_there_to_be_stolen(app, site, raw_get):
    # The traps are real: the same file is served when asked for properly.
    (site / "copy.txt").write_bytes(SECRET)
    async with TestClient(app) as client:
        status, _, body = await raw_get(client.port, "/static/copy.txt")
        assert (status, body) == (200, SECRET)


async def test_dot_dot(app, raw_get):
    await assert_refused(app, raw_get, "/static/../secret.txt")


async def test_dot_dot_deeper(app, raw_get):
    await assert_refused(app, raw_get, "/static/sub/../../secret.txt")


async def test_percent_encoded_dot_dot(app, raw_get):
    await assert_refused(app, raw_get, "/static/%2e%2e/secret.txt")


async def test_percent_encoded_dot_dot_slash(app, raw_get):
    await assert_refused(app, raw_get, "/static/%2e%2e%2fsecret.txt")


async def test_upper_case_percent_encoding(app, raw_get):
    await assert_refused(app, raw_get, "/static/%2E%2E%2Fsecret.txt")


async def test_encoded_slashes_between_dot_dots(app, raw_get):
    await assert_refused(app, raw_get, "/static/sub%2f..%2f..%2fsecret.txt")


async def test_backslashes(app, raw_get):
    await assert_refused(app, raw_get, "/static/..\\secret.txt")


async def test_percent_encoded_backslash(app, raw_get):
    await assert_refused(app, raw_get, "/static/..%5csecret.txt")


async def test_absolute_path_after_the_prefix(app, raw_get, tmp_path):
    await assert_refused(app, raw_get, f"/static/{tmp_path}/outside/passwd")


async def test_double_slash_absolute_path(app, raw_get, tmp_path):
    await assert_refused(app, raw_get, f"/static//{tmp_path}/outside/passwd")


async def test_double_slash_etc_passwd(app, raw_get):
    await assert_refused(app, raw_get, "/static//etc/passwd")


async def test_percent_encoded_absolute_path(app, raw_get, tmp_path):
    encoded = str(tmp_path).replace("/", "%2f")
    await assert_refused(app, raw_get, f"/static/{encoded}%2foutside%2fpasswd")


async def test_nul_byte(app, raw_get):
    await assert_refused(app, raw_get, "/static/hello.txt%00.png")


async def test_symlink_to_a_file_outside(app, raw_get):
    await assert_refused(app, raw_get, "/static/escape.txt")


async def test_symlink_to_a_folder_outside(app, raw_get):
    await assert_refused(app, raw_get, "/static/escape_dir/passwd")


async def test_dotfiles_are_refused_by_default(app, raw_get):
    await assert_refused(app, raw_get, "/static/.env")


async def test_files_in_dot_folders_are_refused_by_default(app, raw_get):
    await assert_refused(app, raw_get, "/static/.hidden/x.txt")


async def test_a_symlink_to_a_dotfile_is_refused(app, raw_get):
    await assert_refused(app, raw_get, "/static/dotlink.txt")


async def test_percent_encoded_dotfile(app, raw_get):
    await assert_refused(app, raw_get, "/static/%2eenv")


async def test_hidden_true_serves_dotfiles_but_still_no_traversal(site, raw_get):
    app = PyFrameApp()
    app.add_static_path("/static/", str(site), hidden=True)
    async with TestClient(app) as client:
        status, _, body = await raw_get(client.port, "/static/.env")
        assert (status, body) == (200, SECRET)
        status, _, body = await raw_get(client.port, "/static/.hidden/x.txt")
        assert status == 200
        for target in ("/static/../secret.txt", "/static/%2e%2e/secret.txt",
                       "/static/escape.txt"):
            status, _, body = await raw_get(client.port, target)
            assert status == 404 and SECRET not in body, target


async def test_single_dot_segments_are_refused(app, raw_get):
    async with TestClient(app) as client:
        status, _, _ = await raw_get(client.port, "/static/./hello.txt")
        assert status == 404


async def test_the_client_normalisation_is_not_what_protects_us(app, site):
    # aiohttp's client with an encoded URL sends the path untouched too.
    import yarl

    async with TestClient(app) as client:
        url = yarl.URL(client.url("/static/%2e%2e/secret.txt"), encoded=True)
        async with client.session.get(url) as resp:
            assert resp.status == 404
            assert SECRET not in await resp.read()
