//! The Examples section of each command's `--help` (and man page), each followed by the
//! exit status every command shares. An example's comment starts with `#`, so a pasted
//! line runs.

/// The exit codes (README "Exit codes"), in every command's help and man page.
macro_rules! exit_status {
    () => {
        "Exit status:
  0 success; 1 internal error; 2 usage; 3 invalid input (YAML, reference, bundle);
  4 registry or transfer; 5 cluster; 6 integrity (digest, size, signature); 7 disk space"
    };
}

/// An Examples section, the exit status after it.
macro_rules! examples {
    ($name:ident, $text:literal) => {
        pub(super) const $name: &str = concat!($text, "\n\n", exit_status!());
    };
}

examples!(
    SCAN,
    "\
Examples:
  ferry scan deploy/                          # table on a terminal, one image per line when piped
  ferry scan --why operator.yaml              # every occurrence with the rule and its reasoning
  ferry scan -o json crs/ > hits.json         # every hit with file, line, path and byte spans
  ferry scan --rules my-rules.yaml crs/       # extra rules for fields the built-ins miss
  ferry scan charts/cert-manager -f site.yaml # a Helm chart, rendered by helm template
  ferry scan oci://quay.io/jetstack/charts/cert-manager:v1.21.1
  cat all.yaml | ferry scan -                 # standard input"
);

examples!(
    MIRROR,
    "\
Examples:
  ferry mirror deploy/ --to harbor.local/team                 # every image the manifests name
  ferry mirror deploy/ --to harbor.local/team --dry-run       # the plan: source -> target
  ferry mirror --images list.txt --to harbor.local/team       # a list, one reference per line
  ferry scan -o list deploy/ | ferry mirror --images - --to harbor.local/team
  ferry mirror oci://quay.io/jetstack/charts/cert-manager:v1.21.1 --to harbor.local/team
  ferry mirror deploy/ --to harbor.local/team --signatures=require   # every image signed"
);

examples!(
    BUNDLE,
    "\
Examples:
  ferry bundle deploy/ crs/ -o operator-1.2.0.tar
  ferry bundle deploy/ --platform linux/amd64 -o app.tar.zst   # one platform, compressed
  ferry bundle deploy/ --check                                 # the vendor's CI gate: no pull
  ferry bundle charts/cert-manager -n cert-manager -f site.yaml -o cert-manager.tar
  ferry bundle deploy/ --since site.receipt.json -o operator-1.3.0.tar  # only what the site lacks
  ferry bundle deploy/ -o operator-1.3.0.tar --split 4000M     # parts for FAT32 media
The output is a file: -o takes a path (BUNDLE.tar, .tar.gz, .tgz, .tar.zst)."
);

examples!(
    RECEIPT,
    "\
Examples:
  ferry receipt --from-bundle operator-1.2.0.tar -o site.receipt.json  # what the site got
  ferry receipt --from-bundle v1.tar --from-bundle v1.1.tar -o site.receipt.json
  ferry receipt --to harbor.local/team -o site.receipt.json     # read from the registry
  ferry bundle deploy/ --since site.receipt.json -o operator-1.3.0.tar # the vendor's delta
The receipt names blobs by digest and size and where the site holds them; nothing secret."
);

examples!(
    INSPECT,
    "\
Examples:
  ferry inspect operator-1.2.0.tar            # images as push names them, charts, manifests
  ferry inspect -o json operator-1.2.0.tar    # ferry.json and index.json"
);

examples!(
    VERIFY,
    "\
Examples:
  ferry verify operator-1.2.0.tar             # every blob re-hashed (exit 6 when damaged)
  ferry verify operator-1.2.0.tar --key cosign.pub   # and every image signed by the vendor"
);

examples!(
    PUSH,
    "\
Examples:
  ferry push operator-1.2.0.tar --to harbor.local/team
  ferry push operator-1.2.0.tar --to harbor.local/team --dry-run
  ferry push app.oci.tar --name quay.io/acme/app:1.0 --to harbor.local/team   # a skopeo archive"
);

examples!(
    REWRITE,
    "\
Examples:
  ferry rewrite deploy/ --to harbor.local/team --diff              # review the changes
  ferry rewrite deploy/ --to harbor.local/team --out airgapped/     # a rewritten copy
  ferry rewrite deploy/ --to harbor.local/team --in-place --lock images.lock.json
  ferry rewrite operator-1.2.0.tar --to harbor.local/team --out deploy/ --pin-digests
  ferry rewrite charts/cert-manager --to harbor.local/team --values-out airgap-values.yaml"
);

examples!(
    APPLY,
    "\
Examples:
  ferry apply deploy/ --dry-run client        # the ordered plan, nothing sent
  ferry apply deploy/ --dry-run server        # every object checked by the API server
  ferry apply deploy/ --wait --timeout 10m
  ferry apply overlays/prod/                  # a kustomization, rendered by kustomize
  ferry apply charts/app -n apps -f site.yaml  # a Helm chart, its hooks in Helm's order"
);

examples!(
    INSTALL,
    "\
Examples:
  ferry install operator-1.2.0.tar --to harbor.local/team --pull-secret regcred --wait
  ferry install operator-1.2.0.tar --to harbor.local/team --dry-run client
  ferry install cert-manager.tar --to harbor.local/team -f site-values.yaml
  ferry install operator-1.2.0.tar --to harbor.local/team --key vendor-cosign.pub"
);

examples!(
    LOGIN,
    "\
Examples:
  printf '%s' \"$PASSWORD\" | ferry login harbor.local --username robot --password-stdin"
);

examples!(
    LOGOUT,
    "\
Examples:
  ferry logout harbor.local"
);

examples!(
    CACHE,
    "\
Examples:
  ferry cache size
  ferry cache prune --older-than 30d          # blobs no bundle used for a month
  ferry cache prune --cache /srv/ferry-cache  # everything"
);

examples!(
    STATUS,
    "\
Examples:
  ferry status -n shop                        # every release in the namespace
  ferry status shop -n shop                   # one release: members, readiness, drift, images
  ferry status shop -n shop -o json           # the same for machines (schema ferry.status/v1)"
);

examples!(
    ROLLBACK,
    "\
Examples:
  ferry rollback shop -n shop                 # back to the revision before the deployed one
  ferry rollback shop 3 -n shop               # back to revision 3 (ferry status lists them)
  ferry rollback shop -n shop --dry-run server   # what would change and be deleted"
);

examples!(
    UNINSTALL,
    "\
Examples:
  ferry uninstall shop -n shop                # every member, the pull secret and the record
  ferry uninstall shop -n shop --dry-run      # what would be deleted
  ferry uninstall shop -n shop --delete-crds  # CRDs too (and with them every resource of them)"
);
