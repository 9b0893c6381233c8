"""The Space in a real browser: Playwright drives Debian's chromium (it cannot download its own browser here),
uploads a face, waits for the verdict and checks the top label the page shows. Saves a screenshot to the test's
tmp folder, and to outputs/screenshots/ as well when AFFECTVLM_SCREENSHOTS=1."""

import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from affectvlm.bundled import DEFAULT_MODEL as DEFAULT_MODEL_DIR
from affectvlm.bundled import EXAMPLES
from conftest import bundled_model_label, serving_space

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = Path(__file__).parents[1] / "outputs" / "screenshots"

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH: `apt-get install -y chromium` (the Makefile does)"),
    pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated", "ignore:The copy keyword"),
]


@pytest.fixture(scope="module")
def space_url(tmp_path_factory):
    with serving_space(tmp_path_factory.mktemp("gradio_cache")) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    # playwright is imported inside the tests, so that without chromium the module skips cleanly anyway
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--disable-dev-shm-usage",
                  "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, space_url):
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    page.goto(space_url, wait_until="networkidle")
    yield page
    page.close()


def _save_screenshot(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("AFFECTVLM_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, SCREENSHOTS / name)
    return path


def test_uploading_a_face_shows_its_emotion(page, tmp_path):
    from playwright.sync_api import expect

    expected = bundled_model_label(EXAMPLES / "happiness.ply")  # the page must show the model's answer
    page.locator("input[type=file]").first.set_input_files(str(EXAMPLES / "happiness.ply"))
    top_label = page.locator("#affectvlm-emotion [data-testid=label-output-value]")
    expect(top_label).to_have_text(expected, timeout=30_000)
    expect(page.locator("#affectvlm-status")).to_contain_text("happiness.ply", timeout=10_000)
    # learned view weights are shown; a plain mean gets no panel of equal bars but a sentence saying so
    if json.loads((DEFAULT_MODEL_DIR / "config.json").read_text())["view_fusion"] == "attention":
        expect(page.locator("#affectvlm-view-weights")).to_be_visible()
    else:
        expect(page.locator("#affectvlm-view-fusion")).to_contain_text("equal by design")
        expect(page.locator("#affectvlm-view-weights")).to_be_hidden()
    expect(page.locator("[data-testid=model3d] canvas")).to_be_visible(timeout=20_000)  # WebGL: swiftshader
    page.wait_for_timeout(1_500)  # let the 3D viewer and the gallery finish drawing before the picture
    assert _save_screenshot(page, tmp_path, "demo_face.png").stat().st_size > 10_000


def test_a_bad_upload_shows_an_error_naming_the_file(page, tmp_path):
    from playwright.sync_api import expect

    broken = tmp_path / "broken.ply"
    broken.write_bytes(b"ply\nformat binary_little_endian 1.0\nelement vertex 99\n")
    page.locator("input[type=file]").first.set_input_files(str(broken))
    expect(page.get_by_text("broken.ply: cannot parse as a .ply mesh").first).to_be_visible(timeout=30_000)
    page.wait_for_timeout(500)  # the toast slides in
    _save_screenshot(page, tmp_path, "demo_error.png")
    status = page.locator("#affectvlm-status")
    expect(status).to_contain_text("broken.ply: cannot parse as a .ply mesh", timeout=10_000)
    page.wait_for_timeout(12_000)  # long after the toast has faded, the status line still says what went wrong
    expect(status).to_contain_text("broken.ply: cannot parse as a .ply mesh")
    expect(page.locator("#affectvlm-emotion [data-testid=label-output-value]")).to_have_count(0)


def test_picking_the_example_sequence_shows_its_timeline(page, tmp_path):
    from playwright.sync_api import expect

    page.get_by_text("surprise sequence", exact=True).click()
    expect(page.locator("#affectvlm-emotion [data-testid=label-output-value]")).to_have_text("surprise", timeout=30_000)
    with zipfile.ZipFile(EXAMPLES / "surprise_sequence.zip") as archive:
        frames = len(archive.namelist())
    expect(page.locator("#affectvlm-status")).to_contain_text(f"{frames} frames", timeout=10_000)
    expect(page.locator("#affectvlm-timeline")).to_be_visible()
    page.wait_for_timeout(1_000)
    _save_screenshot(page, tmp_path, "demo_sequence.png")
