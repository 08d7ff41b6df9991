//! `ferry install`: bundle -> private registry + in-test API server, in one command.

mod support;

use support::apiserver::ApiServer;
use support::*;

#[test]
fn install_pushes_rewrites_pins_and_applies() {
    let f = fixture("install");
    // The fixture manifest needs its namespace on the cluster; add one to the bundle input.
    let ns = f.dir.join("ns.yaml");
    std::fs::write(
        &ns,
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: web}\n",
    )
    .unwrap();
    let manifest = std::fs::read_to_string(&f.manifest).unwrap().replace(
        "metadata: {name: web}",
        "metadata: {name: web, namespace: web}",
    );
    std::fs::write(&f.manifest, manifest).unwrap();
    let bundle = f.dir.join("app.tar");
    let r = ferry(&[
        "bundle",
        f.manifest.to_str().unwrap(),
        ns.to_str().unwrap(),
        "-o",
        bundle.to_str().unwrap(),
        "--cache",
        f.dir.join("cache").to_str().unwrap(),
    ]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));

    let server = ApiServer::start();
    let kc = server.kubeconfig(&f.dir);
    let creds = docker_config(&f.dir, &f.dst.host, "robot", "pw");
    let to = format!("{}/team", f.dst.host);

    // A client dry run plans every step and changes nothing.
    let plan = ferry(&[
        "install",
        "--release",
        "app",
        bundle.to_str().unwrap(),
        "--to",
        &to,
        "--dry-run",
        "client",
        "--workdir",
        f.dir.join("plan").to_str().unwrap(),
    ]);
    assert_exit(&plan, 0);
    assert!(!skopeo_exists(&format!("{to}/app/web:1.0"), &[]));
    assert!(server.log().is_empty(), "the dry run talked to the cluster");

    let out = ferry(&[
        "install",
        "--release",
        "app",
        bundle.to_str().unwrap(),
        "--to",
        &to,
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--pull-secret",
        "regcred",
        "--registry-config",
        creds.to_str().unwrap(),
        "--wait",
        "--timeout",
        "20",
    ]);
    assert_exit(&out, 0);
    let web = skopeo_raw(&format!("{to}/app/web:1.0"), &[]);
    assert_eq!(web, skopeo_raw(&format!("{}/app/web:1.0", f.src.host), &[]));
    let digest = {
        use sha2::Digest as _;
        format!(
            "sha256:{}",
            sha2::Sha256::digest(&web)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        )
    };
    let dep = server
        .get("/apis/apps/v1/namespaces/web/deployments/web")
        .expect("deployment applied");
    assert_eq!(
        dep["spec"]["template"]["spec"]["containers"][0]["image"],
        format!("{to}/app/web:1.0@{digest}")
    );
    assert!(
        server
            .get("/api/v1/namespaces/web/secrets/regcred")
            .is_some()
    );
    let rewritten = bundle.with_file_name("app.rewritten");
    assert!(
        rewritten.join("deploy.yaml").exists()
            && bundle.with_file_name("app.rewritten.lock.json").exists()
    );
}

/// What install would refuse is refused by bundle, on the vendor's side, before anything is
/// pulled: every problem at once, each with its file and line.
#[test]
fn bundle_refuses_inputs_install_would_refuse() {
    let f = fixture("install-unappliable");
    let app = f.dir.join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::copy(&f.manifest, app.join("deploy.yaml")).unwrap();
    // A kustomization kustomize cannot render (it names a file that is not there).
    std::fs::create_dir_all(app.join("broken")).unwrap();
    std::fs::write(
        app.join("broken/kustomization.yaml"),
        "resources: [missing.yaml]\n",
    )
    .unwrap();
    std::fs::write(
        app.join("old.yaml"),
        "# an older copy of the same Deployment\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {}\n",
    )
    .unwrap();
    std::fs::write(
        app.join("chart-template.yaml"),
        "kind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n",
    )
    .unwrap();
    std::fs::write(
        app.join("values.yaml"),
        "image: {repository: nginx, tag: \"1.25\"}\n",
    )
    .unwrap();
    let bundle = f.dir.join("app.tar");
    let cache = f.dir.join("cache");
    for check in [true, false] {
        let mut args = vec![
            "bundle",
            app.to_str().unwrap(),
            "--cache",
            cache.to_str().unwrap(),
        ];
        if check {
            args.push("--check");
        } else {
            args.extend(["-o", bundle.to_str().unwrap()]);
        }
        let r = ferry(&args);
        assert_exit(&r, 3);
        let err = text(&r.stderr);
        assert!(
            err.contains("3 problems in the inputs, nothing pulled"),
            "{err}"
        );
        assert!(
            err.contains(&format!("{}: ", app.join("broken").display()))
                && err.contains("kustomize failed")
                && err.contains("missing.yaml"),
            "{err}"
        );
        assert!(
            err.contains("chart-template.yaml:3: a Go/Helm template")
                && err.contains("render it (helm template)"),
            "{err}"
        );
        assert!(
            err.contains("Deployment.apps web")
                && err.contains("deploy.yaml:1")
                && err.contains("old.yaml:2"),
            "{err}"
        );
        assert!(
            !err.contains("values.yaml"),
            "a values file is not an object to apply: {err}"
        );
        assert!(!bundle.exists());
        assert!(
            !cache.join("blobs").exists()
                || std::fs::read_dir(cache.join("blobs/sha256"))
                    .unwrap()
                    .count()
                    == 0,
            "pulled before refusing"
        );
    }
}

/// Every image that cannot be read is named in one run, with where the manifests name it;
/// `--exclude` leaves images out on purpose, recorded in the bundle; `--check` reads every
/// image's manifests and writes nothing; a bundle without images needs `--allow-empty`.
#[test]
fn bundle_names_every_missing_image_and_records_exclusions() {
    let f = fixture("bundle-missing");
    let manifest = std::fs::read_to_string(&f.manifest).unwrap();
    std::fs::write(
        &f.manifest,
        format!(
            "{manifest}---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n    - {{name: a, image: {0}/gone/a:1}}\n    - {{name: b, image: {0}/gone/b:2}}\n    - {{name: c, image: ttl.sh/build-output:1h}}\n",
            f.src.host
        ),
    )
    .unwrap();
    let out = f.dir.join("app.tar");
    let cache = f.dir.join("cache");
    let r = bundle_of(&f, &out, &cache, &[]);
    assert_exit(&r, 4);
    let err = text(&r.stderr);
    assert!(
        err.contains("3 images could not be read, nothing written"),
        "{err}"
    );
    let text_now = std::fs::read_to_string(&f.manifest).unwrap();
    for image in ["gone/a:1", "gone/b:2"] {
        let line = text_now.lines().position(|l| l.contains(image)).unwrap() + 1;
        assert!(
            err.contains(&format!(
                "{}/{image} (named at {}:{line})",
                f.src.host,
                f.manifest.display()
            )),
            "{image}: {err}"
        );
    }
    assert!(!out.exists());

    let r = ferry(&[
        "bundle",
        f.manifest.to_str().unwrap(),
        "--check",
        "--cache",
        cache.to_str().unwrap(),
        "--exclude",
        &format!("{}/gone/*", f.src.host),
        "--exclude",
        "ttl.sh/*",
    ]);
    assert_exit(&r, 0);
    assert!(
        text(&r.stdout).contains("check passed: 2 images")
            && text(&r.stdout).contains("3 excluded"),
        "{}",
        text(&r.stdout)
    );
    assert!(
        text(&r.stdout).contains(
            "the manifests name only images in the bundle: 5 references in 1 file (3 left out with --exclude)"
        ),
        "{}",
        text(&r.stdout)
    );
    assert!(!out.exists());

    let gone = format!("{}/gone/*", f.src.host);
    let r = bundle_of(
        &f,
        &out,
        &cache,
        &["--exclude", &gone, "--exclude", "ttl.sh/*"],
    );
    assert_exit(&r, 0);
    let i = ferry(&["inspect", out.to_str().unwrap()]);
    let shown = text(&i.stdout);
    assert!(
        shown.contains("left out on purpose")
            && shown.contains("ttl.sh/build-output:1h  (ttl.sh/*, named at")
            && shown.contains("proof: rewritten to proof.ferry.invalid, the manifests name only images in the bundle: 5 references in 1 file (3 left out with --exclude)"),
        "{shown}"
    );
    let json: serde_json::Value = inspect_json(&out);
    assert_eq!(json["ferry"]["proof"]["held"], 2, "{json}");
    assert_eq!(json["ferry"]["proof"]["excluded"], 3, "{json}");

    let empty = f.dir.join("empty.yaml");
    std::fs::write(
        &empty,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
    )
    .unwrap();
    let r = ferry(&["bundle", empty.to_str().unwrap(), "--check"]);
    assert_exit(&r, 3);
    assert!(
        text(&r.stderr).contains("no images found"),
        "{}",
        text(&r.stderr)
    );
    let r = ferry(&[
        "bundle",
        empty.to_str().unwrap(),
        "--check",
        "--allow-empty",
    ]);
    assert_exit(&r, 0);
}

/// A `.tar.zst` bundle on read-only media, holding one platform of an image that the manifest
/// pins by its (multi-platform) index digest: install writes nothing beside the bundle, and the
/// applied manifest names the filtered index that was pushed, not the digest nobody pushed.
#[test]
fn install_a_compressed_bundle_from_read_only_media_with_a_filtered_pinned_image() {
    let f = fixture("install-ro");
    let index = skopeo_raw(&format!("{}/app/web:1.0", f.src.host), &[]);
    let pinned = sha256_of(&index);
    let input = f.dir.join("input");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::write(
        input.join("deploy.json"),
        format!(
            r#"{{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {{"name": "web", "namespace": "default"}},
  "spec": {{"template": {{"spec": {{"containers": [{{"name": "web", "image": "{}/app/web@{pinned}"}}]}}}}}}}}
"#,
            f.src.host
        ),
    )
    .unwrap();
    let media = f.dir.join("media");
    std::fs::create_dir_all(&media).unwrap();
    let staged = f.dir.join("app.tar.zst");
    let r = ferry(&[
        "bundle",
        input.to_str().unwrap(),
        "--platform",
        "linux/amd64",
        "-o",
        staged.to_str().unwrap(),
        "--cache",
        f.dir.join("cache").to_str().unwrap(),
    ]);
    assert_exit(&r, 0);

    let server = ApiServer::start();
    let kc = server.kubeconfig(&f.dir);
    let to = format!("{}/team", f.dst.host);
    let scratch = f.dir.join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    let script = format!(
        "mount -t tmpfs tmpfs '{media}' || exit 99\ncp '{staged}' '{media}/' && mount -o remount,ro '{media}' || exit 98\n\
         TMPDIR='{scratch}' '{ferry}' install --release app '{media}/app.tar.zst' --to '{to}' --kubeconfig '{kc}'",
        scratch = scratch.display(),
        media = media.display(),
        staged = staged.display(),
        ferry = env!("CARGO_BIN_EXE_ferry"),
        kc = kc.display(),
    );
    let out = std::process::Command::new("unshare")
        .args(["--map-root-user", "--mount", "sh", "-c", &script])
        .output()
        .unwrap();
    assert!(
        !matches!(out.status.code(), Some(98 | 99)),
        "cannot stage read-only media: {}",
        text(&out.stderr)
    );
    assert_exit(&out, 0);

    assert!(
        !skopeo_exists(&format!("{to}/app/web@{pinned}"), &[]),
        "the unfiltered index was pushed"
    );
    let dep = server
        .get("/apis/apps/v1/namespaces/default/deployments/web")
        .expect("deployment applied");
    let image = dep["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap()
        .to_string();
    let applied_digest = image.rsplit_once('@').unwrap().1.to_string();
    assert_ne!(applied_digest, pinned, "{image}");
    assert!(
        skopeo_exists(&format!("{to}/app/web@{applied_digest}"), &[]),
        "{image} was never pushed"
    );
    // The media is read-only (install would have failed writing there): the manifests went
    // to the scratch directory, and the report says where.
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "rewrite manifests into {}/app.rewritten-",
            scratch.display()
        )),
        "{err}"
    );
    let left: Vec<_> = std::fs::read_dir(&scratch)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        left.iter().all(|n| n.starts_with("app.rewritten")),
        "the decompressed copy was left behind: {left:?}"
    );
}

/// A kustomize tree is carried as kustomize renders it: the output is what install applies,
/// the tree itself rides along under `sources/`, and the placeholder the overlay replaces is
/// never pulled.
#[test]
fn a_kustomize_tree_is_bundled_rendered_and_installed() {
    let f = fixture("install-kustomize");
    let k = f.dir.join("k");
    let files = [
        (
            "base/kustomization.yaml",
            "resources: [deploy.yaml]\n".to_string(),
        ),
        (
            "base/deploy.yaml",
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: web}}\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: web-placeholder:latest\n        - name: tool\n          image: {}/lib/tool:2\n",
                f.src.host
            ),
        ),
        (
            "overlay/kustomization.yaml",
            format!(
                "resources: [../base, ns.yaml]\ncommonLabels: {{team: acme}}\nimages:\n  - name: web-placeholder\n    newName: {}/app/web\n    newTag: \"1.0\"\n",
                f.src.host
            ),
        ),
        (
            "overlay/ns.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: web}\n".to_string(),
        ),
    ];
    for (name, text) in &files {
        let path = k.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let bundle = f.dir.join("k.tar");
    let r = ferry(&[
        "bundle",
        k.to_str().unwrap(),
        "-o",
        bundle.to_str().unwrap(),
        "--cache",
        f.dir.join("cache").to_str().unwrap(),
    ]);
    assert_exit(&r, 0);
    assert!(
        text(&r.stdout).contains("name only images in the bundle: 2 references in 1 file"),
        "{}",
        text(&r.stdout)
    );
    let shown = text(&ferry(&["inspect", bundle.to_str().unwrap()]).stdout);
    assert!(
        shown.contains("manifests/k/overlay/kustomize-output.yaml  (rendered by ")
            && shown.contains("from sources/k/overlay)")
            && shown.contains("  sources/k/base/deploy.yaml"),
        "{shown}"
    );
    assert!(!shown.contains("web-placeholder"), "{shown}");
    assert_exit(&ferry(&["verify", bundle.to_str().unwrap()]), 0);

    let server = ApiServer::start();
    let kc = server.kubeconfig(&f.dir);
    let to = format!("{}/team", f.dst.host);
    let out = ferry(&[
        "install",
        "--release",
        "app",
        bundle.to_str().unwrap(),
        "--to",
        &to,
        "--kubeconfig",
        kc.to_str().unwrap(),
    ]);
    assert_exit(&out, 0);
    let dep = server
        .get("/apis/apps/v1/namespaces/web/deployments/web")
        .expect("the rendered deployment applied");
    let containers = &dep["spec"]["template"]["spec"]["containers"];
    // install pins what it pushed by digest.
    for (i, image) in ["app/web:1.0", "lib/tool:2"].iter().enumerate() {
        let got = containers[i]["image"].as_str().unwrap();
        assert!(got.starts_with(&format!("{to}/{image}@sha256:")), "{got}");
    }
    assert_eq!(dep["metadata"]["labels"]["team"], "acme", "{dep}");
    assert!(server.get("/api/v1/namespaces/web").is_some());
    assert!(skopeo_exists(&format!("{to}/app/web:1.0"), &[]));
}

/// A user with the ClusterRole `edit` in namespace `team` installs a bundle that also holds
/// a Role and a RoleBinding: the API server's dry run refuses them up front, so nothing is
/// pushed and nothing applied, each refusal named. The release is named by the bundle.
#[test]
fn an_install_the_user_may_not_make_changes_nothing_and_a_product_names_the_release() {
    let f = fixture("install-edit-role");
    let app = f.dir.join("app");
    std::fs::create_dir_all(&app).unwrap();
    let deploy = std::fs::read_to_string(&f.manifest).unwrap().replace(
        "metadata: {name: web}",
        "metadata: {name: web, namespace: team}",
    );
    std::fs::write(app.join("deploy.yaml"), deploy).unwrap();
    std::fs::write(
        app.join("rbac.yaml"),
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: web, namespace: team}\nrules: []\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: web, namespace: team}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: web}\nsubjects: [{kind: ServiceAccount, name: default, namespace: team}]\n",
    )
    .unwrap();
    let bundle = f.dir.join("shop.tar");
    let out = ferry(&[
        "bundle",
        app.to_str().unwrap(),
        "--product",
        "shop",
        "--product-version",
        "1.2.0",
        "-o",
        bundle.to_str().unwrap(),
        "--cache",
        f.dir.join("cache").to_str().unwrap(),
    ]);
    assert_exit(&out, 0);
    let inspect = ferry(&["inspect", bundle.to_str().unwrap()]);
    assert!(
        text(&inspect.stdout).contains("product shop 1.2.0"),
        "{}",
        text(&inspect.stdout)
    );

    let server = ApiServer::start_with(&["--controllers"]);
    server.seed(
        serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}),
        "",
    );
    server.seed(
        serde_json::json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "limited-edit", "namespace": "team"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "limited"}]}),
        "",
    );
    let to = format!("{}/team", f.dst.host);
    let install = |kc: &std::path::Path| {
        ferry(&[
            "install",
            bundle.to_str().unwrap(),
            "--to",
            &to,
            "--kubeconfig",
            kc.to_str().unwrap(),
            "-n",
            "team",
        ])
    };
    let out = install(&server.kubeconfig_as(&f.dir, "limited"));
    assert_exit(&out, 5);
    let err = text(&out.stderr);
    for said in [
        "Role/web",
        "RoleBinding/web",
        "forbidden",
        "nothing pushed or applied",
    ] {
        assert!(err.contains(said), "{said} not in {err}");
    }
    assert!(
        !skopeo_exists(&format!("{to}/app/web:1.0"), &[]),
        "an image was pushed"
    );
    assert!(
        server
            .get("/apis/apps/v1/namespaces/team/deployments/web")
            .is_none()
    );

    // An admin installs it: release `shop` (the bundle's product), version 1.2.0.
    let out = install(&server.kubeconfig(&f.dir));
    assert_exit(&out, 0);
    let kc = server.kubeconfig(&f.dir);
    let status = ferry(&[
        "status",
        "-n",
        "team",
        "--kubeconfig",
        kc.to_str().unwrap(),
        "-o",
        "json",
    ]);
    assert_exit(&status, 0);
    let v: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let r = &v["releases"][0];
    assert_eq!(r["release"], "shop");
    assert_eq!(r["current"]["version"], "1.2.0");
    assert!(
        r["current"]["bundle"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    let images: Vec<&str> = r["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["state"].as_str().unwrap())
        .collect();
    assert_eq!(images, ["present", "present"], "{r}");
}
