"""How heavy the HTML report is on NaCGEC test's 5,869 sentences: build time (scoring included),
render time, file size, and in headless Chromium the time until the sentence browser is drawn
and the time a filter and a search take: as Selenium sees it (`_s`, WebDriver round trips
included) and as the page measures its own filtering and drawing (`_page_ms`).

The mirror holds no system's outputs on NaCGEC test, so the hypotheses are made to give every
outcome: by line number mod 4, the first reference, the source, the source with its middle
character deleted, the first reference with a character inserted; raw outputs carry a
"修改后：" prefix (flag `prefix`) on every fifth line. `--hyp FILE` scores a real system's
outputs instead (one line per sentence).

Usage: CGEC_DATA_DIR=../shared/data python bench/report_render.py [--hyp FILE] [--out report.html]
       [--runs 1|2] [--bootstrap 1000]
Needs /usr/bin/chromium and /usr/bin/chromedriver (Debian: apt-get install chromium chromium-driver)
and selenium (the `test` extra).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from harness.data.inputs import load_references  # noqa: E402
from harness.data.manifest import DataSettings, resolve_input  # noqa: E402
from harness.reports.html.build import RunInputs, build_report  # noqa: E402
from harness.reports.html.render import render  # noqa: E402

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
DEADLINE = 120  # seconds the browser may take for any step


def synthetic(sources: tuple[str, ...], targets: tuple[tuple[str, ...], ...]) -> list[str]:
    out = []
    for index, (source, refs) in enumerate(zip(sources, targets)):
        kind = index % 4
        middle = len(source) // 2
        out.append(refs[0] if kind == 0 else source if kind == 1 else source[:middle] + source[middle + 1:]
                   if kind == 2 else refs[0][:1] + "的" + refs[0][1:])
    return out


def inputs(name: str, settings: DataSettings, hyp: str | None) -> RunInputs:
    references = load_references(resolve_input("nacgec-test", settings, "references"))
    sources, targets = references.sources, references.targets or ()
    hypotheses = Path(hyp).read_text(encoding="utf-8").splitlines() if hyp else synthetic(sources, targets)
    if len(hypotheses) != len(sources):
        sys.exit(f"{hyp}: {len(hypotheses)} lines for {len(sources)} sentences")
    raw = tuple(("修改后：" + h) if k % 5 == 0 else h for k, h in enumerate(hypotheses))
    flags = tuple(("prefix",) if k % 5 == 0 else () for k in range(len(hypotheses)))
    return RunInputs(name, sources, tuple(hypotheses), tuple(tuple(t) for t in targets), ids=references.ids,
                     raw_outputs=raw, flags=flags, model="bench", dataset="nacgec-test")


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1600"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def timed_until(driver, action, condition) -> float:
    """Seconds from `action()` until `condition(driver)` holds (polled every 10 ms)."""
    from selenium.webdriver.support.ui import WebDriverWait

    start = time.perf_counter()
    action()
    WebDriverWait(driver, DEADLINE, poll_frequency=0.01).until(condition)
    return time.perf_counter() - start


def in_browser(path: Path) -> dict[str, float]:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver = browser()
    try:
        ready = timed_until(driver, lambda: driver.get(path.as_uri()),
                            lambda d: d.execute_script("return document.documentElement.dataset.ready") == "1")
        page_ms = float(driver.execute_script("return document.documentElement.dataset.readyMs"))

        def count() -> str:
            return driver.find_element(By.ID, "match-count").get_attribute("data-count")

        total = count()
        select = Select(driver.find_element(By.ID, "filter-outcome"))
        filtered = timed_until(driver, lambda: select.select_by_value("missed"), lambda d: count() != total)
        filter_ms = float(driver.execute_script("return document.documentElement.dataset.renderMs"))
        box = driver.find_element(By.ID, "search")
        before = count()
        searched = timed_until(driver, lambda: box.send_keys("的"), lambda d: count() != before)
        search_ms = float(driver.execute_script("return document.documentElement.dataset.renderMs"))
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        return {"open_to_ready_s": ready, "page_script_ready_ms": page_ms, "filter_s": filtered,
                "filter_page_ms": filter_ms, "search_s": searched, "search_page_ms": search_ms,
                "console_errors": float(len(errors))}
    finally:
        driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hyp", default=None, help="a system's outputs on NaCGEC test (one line per sentence)")
    parser.add_argument("--out", default=None, help="where to write the page (default: a temporary folder)")
    parser.add_argument("--runs", type=int, choices=(1, 2), default=1, help="two runs: the side-by-side page")
    parser.add_argument("--bootstrap", type=int, default=1000)
    args = parser.parse_args()
    settings = DataSettings.from_env()
    start = time.perf_counter()
    runs = [inputs("bench", settings, args.hyp)]
    if args.runs == 2:
        runs.append(replace(runs[0], name="bench-sources", hypotheses=runs[0].sources))
    report = build_report(runs, settings, levels=("char",), bootstrap=args.bootstrap)
    built = time.perf_counter() - start
    start = time.perf_counter()
    html = render(report)
    rendered = time.perf_counter() - start
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="report-bench-")) / "report.html"
    out.write_text(html, encoding="utf-8")
    size = out.stat().st_size
    print(f"NaCGEC test: {len(report.runs[0].sentences)} sentences, {len(runs)} run(s); outcomes "
          + ", ".join(f"{k} {v}" for k, v in report.runs[0].outcomes["char"].items()))
    print(f"build (char scoring, outcomes, chunks, {args.bootstrap} resamples): {built:.2f} s; "
          f"render: {rendered:.2f} s")
    print(f"file: {out} ({size / 1e6:.2f} MB)")
    for name, value in in_browser(out).items():
        print(f"chromium {name}: {value:.3f}" if not name.endswith("errors") else f"chromium {name}: {int(value)}")


if __name__ == "__main__":
    main()
