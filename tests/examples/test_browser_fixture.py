"""The browser fixture drives a real page served by pyframe."""

from pyframe import HTMLResponse, PyFrameApp
from pyframe.testing import TestClient

PAGE = """<!doctype html><title>t</title><p id=out>waiting</p>
<script>fetch('/data').then(r => r.json()).then(d => {
  document.getElementById('out').textContent = d.greeting; console.log('got', d.greeting); });
</script>"""


async def test_a_page_runs_its_script_against_the_server(browser):
    app = PyFrameApp()
    app.get("/")(lambda context: HTMLResponse(PAGE))
    app.get("/data")(lambda context: {"greeting": "hello from pyframe"})
    async with TestClient(app) as client:
        page = await browser.open(client.url("/"))
        text = await page.wait_for("document.getElementById('out').textContent !== 'waiting' "
                                   "&& document.getElementById('out').textContent")
        assert text == "hello from pyframe"
        assert "got hello from pyframe" in page.console
