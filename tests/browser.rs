//! The annotator page in a real headless Chromium: lease → label by keyboard → the next task
//! appears, click and skip paths, layout on a laptop screen, no console errors.

use std::time::Duration;

use latentlabel_tests::*;

#[test]
fn annotator_page_labels_and_moves_to_the_next_task() {
    if !have_tool("chromium") || !have_python_modules(&["playwright.sync_api"]) {
        return;
    }
    let data = tempfile::tempdir().expect("tempdir");
    let (mut node, _addr) =
        Node::up_demo(env!("CARGO_BIN_EXE_latentlabel-node"), 1500, data.path());
    let line = node
        .wait_line("annotator page:", Duration::from_secs(60))
        .expect("up printed the annotator page URL");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("url");
    let (base, token) = url.split_once("/?token=").expect("token in URL");
    let shot = data.path().join("annotator.png");
    let status = std::process::Command::new("python3")
        .arg(repo_root().join("tests/browser/annotator_page.py"))
        .args([
            "--url",
            base,
            "--token",
            token,
            "--screenshot",
            shot.to_str().expect("utf8"),
        ])
        .status()
        .expect("python3");
    assert!(status.success(), "the annotator page test failed");
    // A wrong token must be refused by the page, not silently accepted.
    let refused = std::process::Command::new("python3")
        .arg(repo_root().join("tests/browser/annotator_page.py"))
        .args([
            "--url",
            base,
            "--token",
            "not-a-real-token",
            "--timeout",
            "10",
        ])
        .status()
        .expect("python3");
    assert!(
        !refused.success(),
        "a wrong token must not reach the task view"
    );
    node.kill();
}
