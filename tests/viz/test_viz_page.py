"""The interactive page (`irgraph render -o model.html`), clicked in a real headless Chromium.

Debian's chromium and chromium-driver are installed by `make browser` (scripts/ensure_browser.sh), which
`make test` runs; Selenium drives them. Where they are missing the browser test is skipped, except in CI
(CI=true), where that is a failure. The expected path and number come from outside viz: networkx's own
path enumeration, and the JAX reference gradient in examples/linear.json.
"""

import json
import os
import pathlib
import shutil
from itertools import pairwise

import networkx as nx
import pytest
from dotread import needs_dot

import irgraph
from irgraph.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "linear.eq"
REFERENCE = json.loads((ROOT / "examples" / "linear.json").read_text())
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1400,1000"]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (CHROMIUM and DRIVER):
        if os.environ.get("CI"):
            pytest.fail("chromium and chromedriver are missing: `make browser` installs them")
        pytest.skip("chromium and chromedriver are not installed (make browser)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def seed_page(tmp_path_factory):
    path = tmp_path_factory.mktemp("page") / "linear.html"
    assert main(["render", str(SEED), "--wrt", "b,w1,w2", "--inputs", str(ROOT / "examples" / "linear.json"),
                 "-o", str(path)]) == 0
    return path


@needs_dot
def test_the_page_is_self_contained(seed_page):
    text = seed_page.read_text(encoding="utf-8")
    assert "http://" not in text.replace("http://www.w3.org", "") and "https://" not in text  # works offline
    assert "<script src" not in text and "<link" not in text
    for stage in ("forward", "backward", "program"):
        assert f'id="stage-{stage}"' in text
    assert text.count("<svg") == 3


@needs_dot
def test_clicking_w1_colours_its_path_and_shows_the_chain_rule_with_numbers(browser, seed_page):
    from selenium.webdriver.common.by import By

    browser.get(seed_page.as_uri())
    browser.find_element(By.ID, "f-n-w1").click()
    lit = browser.execute_script(
        "const d = JSON.parse(document.getElementById('data').textContent);"
        "return [...document.querySelectorAll('g.edge.hl')].map(e => [d.edges[e.id].u, d.edges[e.id].v]);")
    eq = irgraph.parse(SEED.read_text()).equations().nx
    expected = {(u, v) for p in nx.all_simple_paths(eq, "w1", "loss") for u, v in pairwise(p)}
    assert {tuple(e) for e in lit} == expected == {("w1", "a1"), ("a1", "yhat"), ("yhat", "loss")}
    text = browser.find_element(By.ID, "caption").text
    grad = f"{REFERENCE['grads']['w1']:g}".replace("-", "−")
    assert text.startswith("∂L/∂w₁ = ∂L/∂ŷ · ∂ŷ/∂a₁ · ∂a₁/∂w₁") and text.endswith(f"= {grad}") and grad == "−5.25"
    out = ROOT / "build"
    out.mkdir(exist_ok=True)
    browser.save_screenshot(str(out / "interactive.png"))  # `make figures` copies it into docs/ for the README


@needs_dot
def test_tabs_switch_stages_and_edges_explain_themselves(browser, seed_page):
    from selenium.webdriver import ActionChains
    from selenium.webdriver.common.by import By

    browser.get(seed_page.as_uri())
    edge = browser.find_element(By.CSS_SELECTOR, "#f-e0 text")  # its label: the middle of a line may miss it
    ActionChains(browser).move_to_element(edge).perform()
    tip = browser.find_element(By.ID, "tip")
    assert tip.is_displayed() and tip.text.startswith("∂")
    browser.find_element(By.CSS_SELECTOR, "button[data-stage=stage-backward]").click()
    assert browser.find_element(By.ID, "stage-backward").is_displayed()
    assert not browser.find_element(By.ID, "stage-forward").is_displayed()
