"""The report in a real browser: headless Chromium (Debian's package) opens it from disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from playwright.sync_api import sync_playwright

from tests.conftest import CHROMIUM, FLAGS, SCREENSHOT_DIR, report_cli
from tests.helpers.synthetic_store import SyntheticRun, make_store


def build_report(tmp_path: Path) -> Path:
    """A 3 x 2 x 3 grid of two seeds each, its report built by the CLI."""
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    bonus = {"simple_rnn": 0.0, "lstm": 0.002, "gru": 0.004}
    runs = [
        SyntheticRun(
            cell, bi, depth, seed, 0.90 + bonus[cell] + 0.01 * depth + 0.005 * seed + 0.02 * bi
        )
        for cell in ("simple_rnn", "lstm", "gru")
        for bi in (False, True)
        for depth in (1, 2, 3)
        for seed in (0, 1)
    ]
    make_store(uri, runs, experiment="browser")
    out = tmp_path / "browser.html"
    built = report_cli(
        "--experiment", "browser", "--tracking-uri", uri, "--out", out, "--no-log", cwd=tmp_path
    )
    assert built.returncode == 0, built.stderr
    return out


def leaderboard_rows(page, column: int) -> list[tuple[str, float]]:
    """Each leaderboard row's configuration and its sort key in `column`, in page order."""
    return [
        (name, float(key))
        for name, key in page.evaluate(
            """column => Array.from(
                document.querySelectorAll("#table-browser-leaderboard tbody tr"),
                row => [row.cells[1].innerText, row.cells[column].dataset.sort])""",
            column,
        )
    ]


def sorted_by_clicks(page, header: str) -> tuple[list, list, list]:
    """The leaderboard's (configuration, `header` value) rows before any click, after one
    click on `header` and after a second."""
    headers = page.locator("#table-browser-leaderboard th")
    column = headers.all_inner_texts().index(header)
    before = leaderboard_rows(page, column)
    headers.nth(column).click()
    after_one = leaderboard_rows(page, column)
    headers.nth(column).click()
    return before, after_one, leaderboard_rows(page, column)


def on_a_phone(browser, out: Path) -> tuple[dict[str, bool], int]:
    """A phone's width: whether the configuration and both accuracies are on screen,
    unscrolled, and the page's width."""
    phone = browser.new_page(viewport={"width": 390, "height": 844})
    phone.goto(out.as_uri() + "#browser-leaderboard", wait_until="load")
    phone.screenshot(path=str(SCREENSHOT_DIR / "report-390px.png"))
    headers = phone.locator("#table-browser-leaderboard th")
    on_screen = {}
    for name in ("configuration", "val accuracy (selects)", "test accuracy (mean)"):
        box = headers.filter(has_text=name).first.bounding_box()
        on_screen[name] = box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    return on_screen, phone.evaluate("document.documentElement.scrollWidth")


def test_report_opens_offline_without_errors(tmp_path):
    assert Path(CHROMIUM).exists(), "install Debian's chromium (apt-get install chromium)"
    out = build_report(tmp_path)

    errors, requests = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(out.as_uri(), wait_until="load")
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        shot = SCREENSHOT_DIR / "report-top.png"
        page.screenshot(path=str(shot))  # what a reader sees first
        configuration = "#table-browser-leaderboard tbody tr td:nth-child(2)"
        first = page.locator(configuration).first.inner_text()
        before, after_one, after_two = sorted_by_clicks(page, "parameters")
        page.screenshot(path=str(SCREENSHOT_DIR / "report-full.png"), full_page=True)
        images = page.evaluate(
            "Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)"
        )
        on_screen, page_width = on_a_phone(browser, out)
        browser.close()

    assert on_screen == dict.fromkeys(on_screen, True), on_screen
    assert page_width <= 390  # wide tables scroll inside their frame, not the page

    assert errors == []
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    assert images and all(images)  # every inline plot decoded
    assert first == "gru-bi-3L"  # best validation accuracy first (here it is also the best test)
    # The parameters are not in the initial order either way, so a sorter that does nothing
    # (or sorts the wrong way) fails: one click ascending, the next descending, rows whole.
    counts = [count for _, count in before]
    assert counts not in (sorted(counts), sorted(counts, reverse=True)), counts
    assert [count for _, count in after_one] == sorted(counts)
    assert [count for _, count in after_two] == sorted(counts, reverse=True)
    assert sorted(after_one) == sorted(after_two) == sorted(before)  # each row kept together
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.std() > 10, "the screenshot is blank"
