//! The deployment artefacts must fit the code: promtool checks and unit tests of the alert rules,
//! Kubernetes manifests rendered by kustomize and validated against the Kubernetes schemas
//! offline, the compose file validated, and every metric the dashboards and rules use listed in the
//! metrics contract. All of it is `deploy/check.sh`; this test runs it.

use latentlabel_tests::*;

#[test]
fn deploy_check_script_passes() {
    let tools = [
        "promtool",
        "prometheus",
        "kubectl",
        "docker-compose",
        "kubernetes-validate",
    ];
    if !tools.iter().all(|t| have_tool(t)) || !have_python_modules(&["yaml", "jsonschema"]) {
        return;
    }
    let out = std::process::Command::new("bash")
        .arg(repo_root().join("deploy/check.sh"))
        .output()
        .expect("bash");
    print!("{}", String::from_utf8_lossy(&out.stdout));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "deploy/check.sh failed");
}
