"""The HTML report driven in a real headless browser: Debian's chromium and chromedriver through
Selenium. The page is opened from file://, filtered, searched and opened as a person would;
every wait has a deadline (no fixed sleeps). Slow: `make test-all` and CI run these."""

from __future__ import annotations

from pathlib import Path

import pytest

from test_report import HAND_BUILT, HOSTILE, hand_built_inputs, settings_for

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
REPEAT = 30  # 240 sentences: more over-corrected ones than a page holds
DEADLINE = 30  # seconds any wait may take before the test fails


@pytest.fixture(scope="module")
def report_file(shared_data, tmp_path_factory) -> tuple[Path, dict[str, int]]:
    from harness.reports.html.build import build_report
    from harness.reports.html.render import render

    folder = tmp_path_factory.mktemp("report")
    report = build_report([hand_built_inputs("hand", REPEAT)], settings_for(shared_data, folder / "cache"),
                          levels=("char",), bootstrap=100)
    path = folder / "report.html"
    path.write_text(render(report), encoding="utf-8")
    return path, report.runs[0].outcomes["char"]


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
        pytest.skip(f"no {CHROMIUM} or {CHROMEDRIVER}: apt-get install chromium chromium-driver (.ci/run does)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1600"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    # An alert the page might fire is recorded instead of blocking the browser.
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                           {"source": "window.__alerts = []; window.alert = (m) => window.__alerts.push(String(m));"})
    yield driver
    driver.quit()


def _wait(driver, condition, what: str):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, DEADLINE, poll_frequency=0.05).until(condition, message=what)


def _open(driver, path: Path) -> None:
    driver.get(path.as_uri())
    _wait(driver, lambda d: d.execute_script("return document.documentElement.dataset.ready") == "1",
          "the sentence browser never finished drawing")
    driver.get_log("browser")  # start each test with an empty log


def _count(driver) -> int:
    from selenium.webdriver.common.by import By

    return int(driver.find_element(By.ID, "match-count").get_attribute("data-count"))


def _console_errors(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def _search(driver, text: str, expected: int) -> None:
    from selenium.webdriver.common.by import By

    box = driver.find_element(By.ID, "search")
    box.clear()
    box.send_keys(text)
    _wait(driver, lambda d: _count(d) == expected, f"searching {text!r} should match {expected} sentences")


def test_the_page_opens_from_disk_without_console_errors(browser, report_file) -> None:
    path, outcomes = report_file
    browser.get(path.as_uri())
    _wait(browser, lambda d: d.execute_script("return document.documentElement.dataset.ready") == "1",
          "the sentence browser never finished drawing")
    assert _count(browser) == len(HAND_BUILT) * REPEAT == sum(outcomes.values())
    assert _console_errors(browser) == []


def test_filtering_over_corrected_finds_as_many_rows_as_counted(browser, report_file) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    path, outcomes = report_file
    _open(browser, path)
    shown = browser.find_element(By.CSS_SELECTOR, 'td.outcome-count[data-level="char"][data-outcome="over-corrected"]')
    expected = int(shown.text)
    assert expected == outcomes["over-corrected"] == 2 * REPEAT
    Select(browser.find_element(By.ID, "filter-outcome")).select_by_value("over-corrected")
    _wait(browser, lambda d: _count(d) == expected, "the outcome filter did not apply")
    rows = 0
    while True:
        page = browser.find_elements(By.CSS_SELECTOR, "#sentences article.sentence")
        assert all(row.get_attribute("data-outcome") == "over-corrected" for row in page)
        rows += len(page)
        following = browser.find_element(By.ID, "page-next")
        if not following.is_enabled():
            break
        first = page[0].get_attribute("data-index")
        following.click()
        _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#sentences article.sentence")
              .get_attribute("data-index") != first, "the next page never came")
    assert rows == expected
    assert _console_errors(browser) == []


def test_opening_a_sentence_shows_its_marks(browser, report_file, tmp_path) -> None:
    from selenium.webdriver.common.by import By

    path, _ = report_file
    _open(browser, path)
    _search(browser, "我走的很慢", REPEAT)  # the partly fixed sentence: one edit right, one missed
    row = browser.find_element(By.CSS_SELECTOR, "#sentences article.sentence")
    assert row.find_elements(By.CSS_SELECTOR, ".summary .mark.tp")
    assert row.find_elements(By.CSS_SELECTOR, ".summary .mark.missed")
    row.find_element(By.CSS_SELECTOR, "button.sentence-head").click()
    _wait(browser, lambda d: row.find_elements(By.CSS_SELECTOR, ".details table.edits tr.tp"), "no details opened")
    kinds = [tr.get_attribute("class") for tr in row.find_elements(By.CSS_SELECTOR, ".details table.edits tr[class]")]
    assert kinds == ["tp", "missed"]
    browser.execute_script("arguments[0].scrollIntoView()", row)
    screenshot = tmp_path / "report-sentence.png"
    assert browser.save_screenshot(str(screenshot)) and screenshot.stat().st_size > 0
    print(f"screenshot: {screenshot}")
    assert _console_errors(browser) == []


def test_search_finds_a_string(browser, report_file) -> None:
    from selenium.webdriver.common.by import By

    path, _ = report_file
    _open(browser, path)
    _search(browser, "她跑", REPEAT)  # the wrong fix
    texts = [row.text for row in browser.find_elements(By.CSS_SELECTOR, "#sentences article.sentence")]
    assert texts and all("她跑" in text for text in texts)
    _search(browser, "no such text anywhere", 0)
    assert _console_errors(browser) == []


def test_a_hostile_prediction_shows_as_text_and_runs_nothing(browser, report_file) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions

    path, _ = report_file
    _open(browser, path)
    _search(browser, "onerror", REPEAT)
    row = browser.find_element(By.CSS_SELECTOR, "#sentences article.sentence")
    row.find_element(By.CSS_SELECTOR, "button.sentence-head").click()
    _wait(browser, lambda d: row.find_elements(By.CSS_SELECTOR, ".details button.raw-toggle"), "no details opened")
    hypothesis = row.find_element(By.CSS_SELECTOR, ".details .line .text").get_property("textContent")
    assert hypothesis == HOSTILE + "我喜欢看书。"
    row.find_element(By.CSS_SELECTOR, ".details button.raw-toggle").click()
    raw = _wait(browser, lambda d: row.find_elements(By.CSS_SELECTOR, "pre.raw"), "the raw output never showed")[0]
    assert raw.get_property("textContent") == HOSTILE
    for text in ("<script>alert(1)</script>", "</textarea>", "</script>", "<img src=x onerror=alert(1)>"):
        assert text in row.text
    assert browser.find_elements(By.CSS_SELECTOR, "#sentences img, #sentences script, #sentences textarea") == []
    assert browser.execute_script("return document.scripts.length") == 2
    assert browser.execute_script("return window.__alerts") == []
    assert expected_conditions.alert_is_present()(browser) is False
    assert _console_errors(browser) == []


def test_two_runs_side_by_side_get_back_the_dataset_sent_once(browser, shared_data, tmp_path) -> None:
    """The page sends the sources and references once for all runs; each run's view must still
    show the sentence's id, source, and its chosen and other references."""
    from selenium.webdriver.common.by import By

    from harness.reports.html.build import build_report
    from harness.reports.html.render import render

    a = hand_built_inputs("a", REPEAT)
    b = hand_built_inputs("b", REPEAT, hypotheses=[row[0] for row in HAND_BUILT] * REPEAT)
    report = build_report([a, b], settings_for(shared_data, tmp_path / "cache"), levels=("char",), bootstrap=20)
    path = tmp_path / "two.html"
    path.write_text(render(report), encoding="utf-8")
    _open(browser, path)
    _search(browser, "我走得很慢", REPEAT)  # only in the partly fixed sentence's reference
    row = browser.find_element(By.CSS_SELECTOR, "#sentences article.sentence")
    assert row.find_element(By.CSS_SELECTOR, ".sid").text == "#s4"
    assert "他跑的很快，我走的很慢。" in row.find_element(By.CSS_SELECTOR, ".summary").text
    row.find_element(By.CSS_SELECTOR, "button.sentence-head").click()
    runs = _wait(browser, lambda d: row.find_elements(By.CSS_SELECTOR, ".details .run-details"), "no details opened")
    assert [r.find_element(By.CSS_SELECTOR, "h4").text for r in runs] == ["a", "b"]
    for view in runs:
        lines = {line.find_element(By.CSS_SELECTOR, ".who").text: line.find_element(By.CSS_SELECTOR, ".text").text
                 for line in view.find_elements(By.CSS_SELECTOR, ".line")}
        assert lines["chosen reference"] == "他跑得很快，我走得很慢。" and "other reference" not in lines
    assert _console_errors(browser) == []
