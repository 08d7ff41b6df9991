//! The fake kube-apiserver (`tests/support/kube-apiserver.py`, a Python process independent of
//! ferry's code): started on a free loopback port, stopped on drop. tests/apiserver_replay.rs
//! keeps it honest against the exchanges recorded from a real kube-apiserver.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use super::{Running, http};

pub struct ApiServer {
    _process: Running,
    pub url: String,
    pub host: String,
    /// Where its own kubeconfigs are written; removed with it.
    home: super::TempDir,
}

/// The first Python that has PyYAML (the fake's YAML 1.1 reader).
fn python() -> &'static str {
    for p in ["python3", "/usr/bin/python3"] {
        let ok = Command::new(p)
            .args(["-c", "import yaml"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return p;
        }
    }
    panic!("the fake API server needs Python 3 with PyYAML (Debian: python3-yaml)");
}

impl ApiServer {
    /// A cluster whose pods run: workloads become ready, webhooks and APIServices answer.
    pub fn start() -> ApiServer {
        ApiServer::start_with(&["--controllers", "--pods-run"])
    }

    /// `--controllers` (status over time), `--pods-run`, `--time-scale X`.
    pub fn start_with(flags: &[&str]) -> ApiServer {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/kube-apiserver.py");
        let mut child = Command::new(python())
            .arg(&script)
            .args(flags)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port: u16 = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("fake API server said {line:?}"));
        let host = format!("127.0.0.1:{port}");
        ApiServer {
            url: format!("http://{host}"),
            home: super::temp_dir(&format!("apiserver-{port}")),
            host,
            _process: Running(child),
        }
    }

    fn call(&self, method: &str, path: &str, body: &Value) -> (u16, Value) {
        let bytes = if body.is_null() {
            Vec::new()
        } else {
            body.to_string().into_bytes()
        };
        let (status, _, out) = http(
            &self.host,
            method,
            path,
            &[("Content-Type", "application/json")],
            &bytes,
        );
        (status, serde_json::from_slice(&out).unwrap_or(Value::Null))
    }

    /// Every request the server received, as `METHOD path?query`.
    pub fn log(&self) -> Vec<String> {
        let (_, v) = self.call("GET", "/fake/log", &Value::Null);
        v["log"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap().to_string())
            .filter(|l| !l.starts_with("GET /fake/") && !l.starts_with("POST /fake/"))
            .collect()
    }

    /// An object as stored (a GET as the admin user).
    pub fn get(&self, path: &str) -> Option<Value> {
        let (status, v) = self.call("GET", path, &Value::Null);
        (status == 200).then_some(v)
    }

    /// Stores an object as if `manager` had applied it before the test.
    pub fn seed(&self, object: Value, manager: &str) {
        let (status, v) = self.call(
            "POST",
            "/fake/seed",
            &json!({"object": object, "manager": manager}),
        );
        assert_eq!(status, 201, "{v}");
    }

    /// RBAC for the `limited` user: `verbs` on `resources` in `namespace`.
    pub fn grant(&self, namespace: &str, resources: &[&str], verbs: &[&str]) {
        let (status, _) = self.call(
            "POST",
            "/fake/grant",
            &json!({"user": "limited", "namespace": namespace, "resources": resources, "verbs": verbs}),
        );
        assert_eq!(status, 200);
    }

    /// Every user may read `resource` but not write it (a restricted service account).
    pub fn forbid(&self, resource: &str) {
        let (status, _) = self.call("POST", "/fake/config", &json!({"forbidden": [resource]}));
        assert_eq!(status, 200);
    }

    /// POSTs `body` to a control endpoint of the fake (`/fake/restart`, ...).
    pub fn control(&self, path: &str, body: Value) {
        let (status, v) = self.call("POST", path, &body);
        assert_eq!(status, 200, "{path}: {v}");
    }

    /// A kubeconfig for this server as the admin user, kept as long as the server runs.
    pub fn own_kubeconfig(&self) -> PathBuf {
        self.kubeconfig(&self.home)
    }

    /// A kubeconfig for this server as the admin user, written into `dir`.
    pub fn kubeconfig(&self, dir: &Path) -> PathBuf {
        self.kubeconfig_as(dir, "admin")
    }

    /// A kubeconfig for this server as `user` (`admin` or `limited`).
    pub fn kubeconfig_as(&self, dir: &Path, user: &str) -> PathBuf {
        let p = dir.join(format!("kubeconfig-{user}"));
        std::fs::write(
            &p,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {}\nusers:\n- name: test\n  user:\n    token: {user}\ncontexts:\n- name: test\n  context:\n    cluster: test\n    user: test\n    namespace: default\ncurrent-context: test\n",
                self.url
            ),
        )
        .unwrap();
        p
    }
}

impl ApiServer {
    /// The next `times` requests whose `METHOD path` starts with `prefix` answer `status`
    /// (429 with Retry-After: 1, else a text/plain error), as a busy or restarting server does.
    pub fn fail_next(&self, prefix: &str, status: u16, times: usize) {
        let (code, _) = self.call(
            "POST",
            "/fake/config",
            &json!({"faults": [{"match": prefix, "status": status, "times": times}]}),
        );
        assert_eq!(code, 200);
    }

    /// Settings of the fake: `{"controllers": bool, "pods_run": bool}`.
    pub fn configure(&self, settings: Value) {
        let (code, _) = self.call("POST", "/fake/config", &settings);
        assert_eq!(code, 200);
    }
}
