# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_ferry_global_optspecs
    string join \n v/verbose h/help V/version
end

function __fish_ferry_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_ferry_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_ferry_using_subcommand
    set -l cmd (__fish_ferry_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c ferry -n "__fish_ferry_needs_command" -s v -l verbose -d 'Log every registry and API server request to stderr: method, URL (without its query), status, time; never credentials'
complete -c ferry -n "__fish_ferry_needs_command" -s h -l help -d 'Print help'
complete -c ferry -n "__fish_ferry_needs_command" -s V -l version -d 'Print version'
complete -c ferry -n "__fish_ferry_needs_command" -f -a "scan" -d 'Find every image reference in manifests, custom resources and values files'
complete -c ferry -n "__fish_ferry_needs_command" -f -a "mirror" -d 'Copy every image the manifests name into another registry, digests unchanged'
complete -c ferry -n "__fish_ferry_needs_command" -f -a "bundle" -d 'Write manifests and every image they need into one airgap bundle (a tar)'
complete -c ferry -n "__fish_ferry_needs_command" -f -a "receipt" -d 'Write what the site holds (from its registry or the bundles it received), for a delta bundle'
complete -c ferry -n "__fish_ferry_needs_command" -f -a "inspect" -d 'Show a bundle\'s images, platforms, sizes and manifests without extracting it'
complete -c ferry -n "__fish_ferry_needs_command" -f -a "verify" -d 'Re-hash every blob and check every manifest, index and descriptor of a bundle'
complete -c ferry -n "__fish_ferry_needs_command" -f -a "push" -d 'Push a bundle\'s images into a registry, reading blobs straight from the tar'
complete -c ferry -n "__fish_ferry_needs_command" -f -a "rewrite" -d 'Point manifests and custom resources at the private registry, changing nothing else'
complete -c ferry -n "__fish_ferry_needs_command" -f -a "apply" -d 'Apply manifests to the cluster in order (CRDs, namespaces, foundations, workloads, CRs)'
complete -c ferry -n "__fish_ferry_needs_command" -f -a "install" -d 'From a bundle, in one command: verify, push, rewrite, pull secret, apply, wait'
complete -c ferry -n "__fish_ferry_needs_command" -f -a "login" -d 'Save credentials for a registry in the docker config, after checking them'
complete -c ferry -n "__fish_ferry_needs_command" -f -a "logout" -d 'Remove a registry\'s saved credentials (from the config file and its credential helper)'
complete -c ferry -n "__fish_ferry_needs_command" -f -a "cache" -d 'Show or trim the blob cache bundles read from'
complete -c ferry -n "__fish_ferry_needs_command" -f -a "status" -d 'Show the releases ferry installed: version, revision, members and images now'
complete -c ferry -n "__fish_ferry_needs_command" -f -a "rollback" -d 'Apply an earlier revision of a release again (as a new revision), from its record'
complete -c ferry -n "__fish_ferry_needs_command" -f -a "uninstall" -d 'Delete a release\'s objects, its pull secret and its record'
complete -c ferry -n "__fish_ferry_needs_command" -f -a "version" -d 'Print ferry\'s version, commit and build date'
complete -c ferry -n "__fish_ferry_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c ferry -n "__fish_ferry_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ferry -n "__fish_ferry_using_subcommand scan" -l rules -d 'YAML file of extra rules: kinds and paths of image fields the built-ins miss' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand scan" -s o -l output -d 'Output format [default: table on a terminal, list otherwise]' -r -f -a "table\t'One row per distinct image with where it was found (default on a terminal)'
json\t'Every hit with all its fields, as one JSON document'
list\t'One normalized reference per line (default when piped)'"
complete -c ferry -n "__fish_ferry_using_subcommand scan" -l package -d 'The catalog\'s package to select (without it: what the catalog holds)' -r
complete -c ferry -n "__fish_ferry_using_subcommand scan" -l channel -d 'One channel of the package [default: every channel]' -r
complete -c ferry -n "__fish_ferry_using_subcommand scan" -l versions -d 'head (the channel head), all, or a semver range MIN..MAX (either bound optional, both inclusive)' -r
complete -c ferry -n "__fish_ferry_using_subcommand scan" -l filtered-catalog -d 'Write the catalog reduced to the selection (file-based catalog, JSON) to FILE' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand scan" -l catalog-namespace -d 'The namespace of the CatalogSource written for the site (OpenShift: openshift-marketplace)' -r
complete -c ferry -n "__fish_ferry_using_subcommand scan" -l catalog-manifests -d 'mirror: write the site\'s CatalogSource, ClusterCatalog and mirror sets into DIR (a release spec\'s catalogs: into DIR/NAME/) [default: catalog-manifests]' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand scan" -l kustomize -d 'Program that renders kustomizations: kustomize (runs `build`) or kubectl (runs `kustomize`); none: ferry\'s own images pass [default: kustomize, else kubectl, on PATH]' -r
complete -c ferry -n "__fish_ferry_using_subcommand scan" -l helm -d 'Helm program that renders charts (`helm template`) [default: helm on PATH]' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand scan" -s f -l values -d 'Values file for charts, as helm\'s -f; repeatable, a later one wins' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand scan" -l set -d 'Set a chart value, as helm\'s --set; repeatable' -r
complete -c ferry -n "__fish_ferry_using_subcommand scan" -l set-string -d 'Set a chart value as a string, as helm\'s --set-string; repeatable' -r
complete -c ferry -n "__fish_ferry_using_subcommand scan" -l release-name -d 'Release name charts are rendered with [default: the chart\'s name]' -r
complete -c ferry -n "__fish_ferry_using_subcommand scan" -l kube-version -d 'Kubernetes version charts are rendered for (.Capabilities.KubeVersion), as helm\'s' -r
complete -c ferry -n "__fish_ferry_using_subcommand scan" -l api-versions -d 'API versions charts may use (.Capabilities.APIVersions), as helm\'s; repeatable' -r
complete -c ferry -n "__fish_ferry_using_subcommand scan" -s n -l namespace -d 'Namespace charts are rendered for (.Release.Namespace), as helm\'s [default: default]' -r
complete -c ferry -n "__fish_ferry_using_subcommand scan" -l registry-config -d 'Docker-style credentials file [default: $REGISTRY_AUTH_FILE or $XDG_RUNTIME_DIR/containers/auth.json, then ~/.config/containers/auth.json, then $DOCKER_CONFIG/config.json or ~/.docker/config.json]' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand scan" -l ca-file -d 'Extra CA certificate (PEM) to trust for every registry; repeatable' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand scan" -l insecure-registry -d 'Allow plain HTTP or unverified TLS for this host[:port] only; repeatable' -r
complete -c ferry -n "__fish_ferry_using_subcommand scan" -l certs-dir -d 'certs.d-style directory (DIR/HOST[:PORT]/ with *.crt CAs, *.cert + *.key client certificates) instead of /etc/docker/certs.d and /etc/containers/certs.d; repeatable' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand scan" -l registry-timeout -d 'Deadline of each registry request other than a blob body, and the time in which a blob body must move 64 KiB (e.g. 30s, 2m)' -r
complete -c ferry -n "__fish_ferry_using_subcommand scan" -l why -d 'Show every occurrence with the rule that matched and its reasoning'
complete -c ferry -n "__fish_ferry_using_subcommand scan" -l keep-going -d 'Report every unreadable or invalid file and scan the rest (exit code stays 3)'
complete -c ferry -n "__fish_ferry_using_subcommand scan" -s v -l verbose -d 'Log every registry and API server request to stderr: method, URL (without its query), status, time; never credentials'
complete -c ferry -n "__fish_ferry_using_subcommand scan" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferry -n "__fish_ferry_using_subcommand scan" -s V -l version -d 'Print version'
complete -c ferry -n "__fish_ferry_using_subcommand mirror" -l images -d 'File with more images, one reference per line (# comments)' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand mirror" -l rules -d 'Extra scan rules (as for scan)' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand mirror" -l signatures -d 'require: an image without a cosign signature stops the run before anything is copied' -r -f -a "require\t'Every image must carry a cosign signature'"
complete -c ferry -n "__fish_ferry_using_subcommand mirror" -l kustomize -d 'Program that renders kustomizations: kustomize (runs `build`) or kubectl (runs `kustomize`); none: ferry\'s own images pass [default: kustomize, else kubectl, on PATH]' -r
complete -c ferry -n "__fish_ferry_using_subcommand mirror" -l helm -d 'Helm program that renders charts (`helm template`) [default: helm on PATH]' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand mirror" -s f -l values -d 'Values file for charts, as helm\'s -f; repeatable, a later one wins' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand mirror" -l set -d 'Set a chart value, as helm\'s --set; repeatable' -r
complete -c ferry -n "__fish_ferry_using_subcommand mirror" -l set-string -d 'Set a chart value as a string, as helm\'s --set-string; repeatable' -r
complete -c ferry -n "__fish_ferry_using_subcommand mirror" -l release-name -d 'Release name charts are rendered with [default: the chart\'s name]' -r
complete -c ferry -n "__fish_ferry_using_subcommand mirror" -l kube-version -d 'Kubernetes version charts are rendered for (.Capabilities.KubeVersion), as helm\'s' -r
complete -c ferry -n "__fish_ferry_using_subcommand mirror" -l api-versions -d 'API versions charts may use (.Capabilities.APIVersions), as helm\'s; repeatable' -r
complete -c ferry -n "__fish_ferry_using_subcommand mirror" -s n -l namespace -d 'Namespace charts are rendered for (.Release.Namespace), as helm\'s [default: default]' -r
complete -c ferry -n "__fish_ferry_using_subcommand mirror" -l package -d 'The catalog\'s package to select (without it: what the catalog holds)' -r
complete -c ferry -n "__fish_ferry_using_subcommand mirror" -l channel -d 'One channel of the package [default: every channel]' -r
complete -c ferry -n "__fish_ferry_using_subcommand mirror" -l versions -d 'head (the channel head), all, or a semver range MIN..MAX (either bound optional, both inclusive)' -r
complete -c ferry -n "__fish_ferry_using_subcommand mirror" -l filtered-catalog -d 'Write the catalog reduced to the selection (file-based catalog, JSON) to FILE' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand mirror" -l catalog-namespace -d 'The namespace of the CatalogSource written for the site (OpenShift: openshift-marketplace)' -r
complete -c ferry -n "__fish_ferry_using_subcommand mirror" -l catalog-manifests -d 'mirror: write the site\'s CatalogSource, ClusterCatalog and mirror sets into DIR (a release spec\'s catalogs: into DIR/NAME/) [default: catalog-manifests]' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand mirror" -l to -d 'Target registry and optional repository prefix, e.g. harbor.example.com/team' -r
complete -c ferry -n "__fish_ferry_using_subcommand mirror" -l layout -d 'How source repositories are named under the target' -r -f -a "path\t'`quay.io/prometheus/prometheus` → `TARGET/prometheus/prometheus`'
host-path\t'`quay.io/prometheus/prometheus` → `TARGET/quay.io/prometheus/prometheus`'
flat\t'`quay.io/prometheus/prometheus` → `TARGET/prometheus`'"
complete -c ferry -n "__fish_ferry_using_subcommand mirror" -l platform -d 'Platforms of multi-arch images to copy: all, or os/arch[/variant],... (a filtered index gets a new digest) [default: all, or a ferry.yaml\'s platforms]' -r
complete -c ferry -n "__fish_ferry_using_subcommand mirror" -s j -l jobs -d 'Blob transfers at once' -r
complete -c ferry -n "__fish_ferry_using_subcommand mirror" -l dry-run -d 'Print the plan (source -> target for each image) and copy nothing; `--dry-run` is `--dry-run=client`, as for apply and install' -r -f -a "client\t'Print the plan and copy nothing'"
complete -c ferry -n "__fish_ferry_using_subcommand mirror" -s o -l output -d 'Output format' -r -f -a "text\t'Progress bars on a terminal, one line per image otherwise'
json\t'NDJSON: one event per image (apply: per object), then a summary'"
complete -c ferry -n "__fish_ferry_using_subcommand mirror" -l source-mirror -d 'Pull HOST\'s images from another registry: HOST=REGISTRY[/PREFIX]; repeatable' -r
complete -c ferry -n "__fish_ferry_using_subcommand mirror" -l registry-config -d 'Docker-style credentials file [default: $REGISTRY_AUTH_FILE or $XDG_RUNTIME_DIR/containers/auth.json, then ~/.config/containers/auth.json, then $DOCKER_CONFIG/config.json or ~/.docker/config.json]' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand mirror" -l ca-file -d 'Extra CA certificate (PEM) to trust for every registry; repeatable' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand mirror" -l insecure-registry -d 'Allow plain HTTP or unverified TLS for this host[:port] only; repeatable' -r
complete -c ferry -n "__fish_ferry_using_subcommand mirror" -l certs-dir -d 'certs.d-style directory (DIR/HOST[:PORT]/ with *.crt CAs, *.cert + *.key client certificates) instead of /etc/docker/certs.d and /etc/containers/certs.d; repeatable' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand mirror" -l registry-timeout -d 'Deadline of each registry request other than a blob body, and the time in which a blob body must move 64 KiB (e.g. 30s, 2m)' -r
complete -c ferry -n "__fish_ferry_using_subcommand mirror" -l no-signatures -d 'Leave out what is attached to the images (cosign signatures, attestations and SBOMs, OCI referrers), which are carried by default'
complete -c ferry -n "__fish_ferry_using_subcommand mirror" -s v -l verbose -d 'Log every registry and API server request to stderr: method, URL (without its query), status, time; never credentials'
complete -c ferry -n "__fish_ferry_using_subcommand mirror" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferry -n "__fish_ferry_using_subcommand mirror" -s V -l version -d 'Print version'
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -l images -d 'File with more images, one reference per line (# comments)' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -l rules -d 'Extra scan rules (as for scan)' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -l signatures -d 'require: an image without a cosign signature stops the run before anything is copied' -r -f -a "require\t'Every image must carry a cosign signature'"
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -l kustomize -d 'Program that renders kustomizations: kustomize (runs `build`) or kubectl (runs `kustomize`); none: ferry\'s own images pass [default: kustomize, else kubectl, on PATH]' -r
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -l helm -d 'Helm program that renders charts (`helm template`) [default: helm on PATH]' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -s f -l values -d 'Values file for charts, as helm\'s -f; repeatable, a later one wins' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -l set -d 'Set a chart value, as helm\'s --set; repeatable' -r
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -l set-string -d 'Set a chart value as a string, as helm\'s --set-string; repeatable' -r
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -l release-name -d 'Release name charts are rendered with [default: the chart\'s name]' -r
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -l kube-version -d 'Kubernetes version charts are rendered for (.Capabilities.KubeVersion), as helm\'s' -r
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -l api-versions -d 'API versions charts may use (.Capabilities.APIVersions), as helm\'s; repeatable' -r
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -s n -l namespace -d 'Namespace charts are rendered for (.Release.Namespace), as helm\'s [default: default]' -r
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -l package -d 'The catalog\'s package to select (without it: what the catalog holds)' -r
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -l channel -d 'One channel of the package [default: every channel]' -r
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -l versions -d 'head (the channel head), all, or a semver range MIN..MAX (either bound optional, both inclusive)' -r
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -l filtered-catalog -d 'Write the catalog reduced to the selection (file-based catalog, JSON) to FILE' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -l catalog-namespace -d 'The namespace of the CatalogSource written for the site (OpenShift: openshift-marketplace)' -r
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -l catalog-manifests -d 'mirror: write the site\'s CatalogSource, ClusterCatalog and mirror sets into DIR (a release spec\'s catalogs: into DIR/NAME/) [default: catalog-manifests]' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -s o -l output -d 'The bundle to write' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -l exclude -d 'Leave out images that match (`*` wildcards over the normalized reference, e.g. \'ttl.sh/*\'); recorded in the bundle; repeatable' -r
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -l compress -d 'Compression [default: from the name: .tar.gz/.tgz gzip, .tar.zst zstd, else none]' -r -f -a "none\t''
gzip\t''
zstd\t''"
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -l platform -d 'Platforms of multi-arch images to include: all, or os/arch[/variant],... [default: all, or a ferry.yaml\'s platforms]' -r
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -l cache -d 'Blob cache directory [default: $XDG_CACHE_HOME/ferry or ~/.cache/ferry]' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -l product -d 'The product the bundle delivers: install\'s release name (a DNS label)' -r
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -l product-version -d 'The product\'s version, recorded by install in the release\'s history' -r
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -l sign-key -d 'Sign the bundle as a whole with this private key (PKCS#8 PEM, ECDSA P-256 or Ed25519): ferry.json.sig, checked by verify --key and install --key with the public key' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -l since -d 'Make a delta: leave out the layers the site already holds, as a receipt (ferry receipt) or a bundle delivered before says; repeatable' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -l split -d 'Write the bundle in parts of at most SIZE (700M, 4000M for FAT32; K, M, G, T are powers of 1024): BUNDLE.part-001... and the index BUNDLE.parts.json' -r
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -l source-mirror -d 'Pull HOST\'s images from another registry: HOST=REGISTRY[/PREFIX]; repeatable (names in the bundle stay the original ones)' -r
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -s j -l jobs -d 'Blob downloads at once' -r
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -l registry-config -d 'Docker-style credentials file [default: $REGISTRY_AUTH_FILE or $XDG_RUNTIME_DIR/containers/auth.json, then ~/.config/containers/auth.json, then $DOCKER_CONFIG/config.json or ~/.docker/config.json]' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -l ca-file -d 'Extra CA certificate (PEM) to trust for every registry; repeatable' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -l insecure-registry -d 'Allow plain HTTP or unverified TLS for this host[:port] only; repeatable' -r
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -l certs-dir -d 'certs.d-style directory (DIR/HOST[:PORT]/ with *.crt CAs, *.cert + *.key client certificates) instead of /etc/docker/certs.d and /etc/containers/certs.d; repeatable' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -l registry-timeout -d 'Deadline of each registry request other than a blob body, and the time in which a blob body must move 64 KiB (e.g. 30s, 2m)' -r
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -l no-signatures -d 'Leave out what is attached to the images (cosign signatures, attestations and SBOMs, OCI referrers), which are carried by default'
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -l check -l dry-run -d 'Check everything (manifests load as objects, no duplicates, every image readable, free space) and pull and write nothing'
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -l allow-empty -d 'Bundle manifests even when they name no image'
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -s v -l verbose -d 'Log every registry and API server request to stderr: method, URL (without its query), status, time; never credentials'
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferry -n "__fish_ferry_using_subcommand bundle" -s V -l version -d 'Print version'
complete -c ferry -n "__fish_ferry_using_subcommand receipt" -l from-bundle -d 'A bundle the site received and pushed; repeatable. With --to: the repositories to read where the registry does not list its own' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand receipt" -l to -d 'Read what the site\'s registry holds under REGISTRY[/PREFIX] (the push\'s --to)' -r
complete -c ferry -n "__fish_ferry_using_subcommand receipt" -l layout -d 'How the bundles\' repositories are named under --to (as push named them)' -r -f -a "path\t'`quay.io/prometheus/prometheus` → `TARGET/prometheus/prometheus`'
host-path\t'`quay.io/prometheus/prometheus` → `TARGET/quay.io/prometheus/prometheus`'
flat\t'`quay.io/prometheus/prometheus` → `TARGET/prometheus`'"
complete -c ferry -n "__fish_ferry_using_subcommand receipt" -s j -l jobs -d 'Image reads at once' -r
complete -c ferry -n "__fish_ferry_using_subcommand receipt" -s o -l output -d 'The receipt to write' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand receipt" -l registry-config -d 'Docker-style credentials file [default: $REGISTRY_AUTH_FILE or $XDG_RUNTIME_DIR/containers/auth.json, then ~/.config/containers/auth.json, then $DOCKER_CONFIG/config.json or ~/.docker/config.json]' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand receipt" -l ca-file -d 'Extra CA certificate (PEM) to trust for every registry; repeatable' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand receipt" -l insecure-registry -d 'Allow plain HTTP or unverified TLS for this host[:port] only; repeatable' -r
complete -c ferry -n "__fish_ferry_using_subcommand receipt" -l certs-dir -d 'certs.d-style directory (DIR/HOST[:PORT]/ with *.crt CAs, *.cert + *.key client certificates) instead of /etc/docker/certs.d and /etc/containers/certs.d; repeatable' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand receipt" -l registry-timeout -d 'Deadline of each registry request other than a blob body, and the time in which a blob body must move 64 KiB (e.g. 30s, 2m)' -r
complete -c ferry -n "__fish_ferry_using_subcommand receipt" -s v -l verbose -d 'Log every registry and API server request to stderr: method, URL (without its query), status, time; never credentials'
complete -c ferry -n "__fish_ferry_using_subcommand receipt" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferry -n "__fish_ferry_using_subcommand receipt" -s V -l version -d 'Print version'
complete -c ferry -n "__fish_ferry_using_subcommand inspect" -s o -l output -r -f -a "table\t'For people'
json\t'One JSON document'"
complete -c ferry -n "__fish_ferry_using_subcommand inspect" -s v -l verbose -d 'Log every registry and API server request to stderr: method, URL (without its query), status, time; never credentials'
complete -c ferry -n "__fish_ferry_using_subcommand inspect" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferry -n "__fish_ferry_using_subcommand inspect" -s V -l version -d 'Print version'
complete -c ferry -n "__fish_ferry_using_subcommand verify" -s o -l output -r -f -a "table\t'For people'
json\t'One JSON document'"
complete -c ferry -n "__fish_ferry_using_subcommand verify" -l key -d 'The vendor\'s public key (PEM; ECDSA P-256 or Ed25519): the bundle must be signed as a whole (bundle --sign-key) and every image carry a cosign signature that one of the keys verifies; repeatable' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand verify" -s v -l verbose -d 'Log every registry and API server request to stderr: method, URL (without its query), status, time; never credentials'
complete -c ferry -n "__fish_ferry_using_subcommand verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferry -n "__fish_ferry_using_subcommand verify" -s V -l version -d 'Print version'
complete -c ferry -n "__fish_ferry_using_subcommand push" -l name -d 'Source name for an archive\'s single unnamed image (e.g. from skopeo without a reference)' -r
complete -c ferry -n "__fish_ferry_using_subcommand push" -l to -d 'Target registry and optional repository prefix, e.g. harbor.example.com/team' -r
complete -c ferry -n "__fish_ferry_using_subcommand push" -l layout -d 'How source repositories are named under the target' -r -f -a "path\t'`quay.io/prometheus/prometheus` → `TARGET/prometheus/prometheus`'
host-path\t'`quay.io/prometheus/prometheus` → `TARGET/quay.io/prometheus/prometheus`'
flat\t'`quay.io/prometheus/prometheus` → `TARGET/prometheus`'"
complete -c ferry -n "__fish_ferry_using_subcommand push" -l platform -d 'Platforms of multi-arch images to copy: all, or os/arch[/variant],... (a filtered index gets a new digest) [default: all, or a ferry.yaml\'s platforms]' -r
complete -c ferry -n "__fish_ferry_using_subcommand push" -s j -l jobs -d 'Blob transfers at once' -r
complete -c ferry -n "__fish_ferry_using_subcommand push" -l dry-run -d 'Print the plan (source -> target for each image) and copy nothing; `--dry-run` is `--dry-run=client`, as for apply and install' -r -f -a "client\t'Print the plan and copy nothing'"
complete -c ferry -n "__fish_ferry_using_subcommand push" -s o -l output -d 'Output format' -r -f -a "text\t'Progress bars on a terminal, one line per image otherwise'
json\t'NDJSON: one event per image (apply: per object), then a summary'"
complete -c ferry -n "__fish_ferry_using_subcommand push" -l registry-config -d 'Docker-style credentials file [default: $REGISTRY_AUTH_FILE or $XDG_RUNTIME_DIR/containers/auth.json, then ~/.config/containers/auth.json, then $DOCKER_CONFIG/config.json or ~/.docker/config.json]' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand push" -l ca-file -d 'Extra CA certificate (PEM) to trust for every registry; repeatable' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand push" -l insecure-registry -d 'Allow plain HTTP or unverified TLS for this host[:port] only; repeatable' -r
complete -c ferry -n "__fish_ferry_using_subcommand push" -l certs-dir -d 'certs.d-style directory (DIR/HOST[:PORT]/ with *.crt CAs, *.cert + *.key client certificates) instead of /etc/docker/certs.d and /etc/containers/certs.d; repeatable' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand push" -l registry-timeout -d 'Deadline of each registry request other than a blob body, and the time in which a blob body must move 64 KiB (e.g. 30s, 2m)' -r
complete -c ferry -n "__fish_ferry_using_subcommand push" -s v -l verbose -d 'Log every registry and API server request to stderr: method, URL (without its query), status, time; never credentials'
complete -c ferry -n "__fish_ferry_using_subcommand push" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferry -n "__fish_ferry_using_subcommand push" -s V -l version -d 'Print version'
complete -c ferry -n "__fish_ferry_using_subcommand rewrite" -l to -d 'Target registry and optional repository prefix, e.g. harbor.example.com/team' -r
complete -c ferry -n "__fish_ferry_using_subcommand rewrite" -l layout -d 'How source repositories are named under the target (as for mirror and push)' -r -f -a "path\t'`quay.io/prometheus/prometheus` → `TARGET/prometheus/prometheus`'
host-path\t'`quay.io/prometheus/prometheus` → `TARGET/quay.io/prometheus/prometheus`'
flat\t'`quay.io/prometheus/prometheus` → `TARGET/prometheus`'"
complete -c ferry -n "__fish_ferry_using_subcommand rewrite" -l rules -d 'Extra scan rules (as for scan)' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand rewrite" -l kustomize -d 'Program that renders kustomizations: kustomize (runs `build`) or kubectl (runs `kustomize`); none: ferry\'s own images pass [default: kustomize, else kubectl, on PATH]' -r
complete -c ferry -n "__fish_ferry_using_subcommand rewrite" -l helm -d 'Helm program that renders charts (`helm template`) [default: helm on PATH]' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand rewrite" -s f -l values -d 'Values file for charts, as helm\'s -f; repeatable, a later one wins' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand rewrite" -l set -d 'Set a chart value, as helm\'s --set; repeatable' -r
complete -c ferry -n "__fish_ferry_using_subcommand rewrite" -l set-string -d 'Set a chart value as a string, as helm\'s --set-string; repeatable' -r
complete -c ferry -n "__fish_ferry_using_subcommand rewrite" -l release-name -d 'Release name charts are rendered with [default: the chart\'s name]' -r
complete -c ferry -n "__fish_ferry_using_subcommand rewrite" -l kube-version -d 'Kubernetes version charts are rendered for (.Capabilities.KubeVersion), as helm\'s' -r
complete -c ferry -n "__fish_ferry_using_subcommand rewrite" -l api-versions -d 'API versions charts may use (.Capabilities.APIVersions), as helm\'s; repeatable' -r
complete -c ferry -n "__fish_ferry_using_subcommand rewrite" -s n -l namespace -d 'Namespace charts are rendered for (.Release.Namespace), as helm\'s [default: default]' -r
complete -c ferry -n "__fish_ferry_using_subcommand rewrite" -l out -d 'Write the rewritten tree here (directories mirrored, files by name)' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand rewrite" -l values-out -d 'For one Helm chart: write a values override that points its images at the target, proven by rendering the chart with it' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand rewrite" -l allow-unrewritten -d 'With --values-out: an image that may stay where it is (e.g. written in a template); repeatable' -r
complete -c ferry -n "__fish_ferry_using_subcommand rewrite" -l lock -d 'Also write the source -> target mapping as JSON' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand rewrite" -l pull-secret -d 'Add imagePullSecrets: [{name: NAME}] to every pod spec that has none' -r
complete -c ferry -n "__fish_ferry_using_subcommand rewrite" -l registry-config -d 'Docker-style credentials file [default: $REGISTRY_AUTH_FILE or $XDG_RUNTIME_DIR/containers/auth.json, then ~/.config/containers/auth.json, then $DOCKER_CONFIG/config.json or ~/.docker/config.json]' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand rewrite" -l ca-file -d 'Extra CA certificate (PEM) to trust for every registry; repeatable' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand rewrite" -l insecure-registry -d 'Allow plain HTTP or unverified TLS for this host[:port] only; repeatable' -r
complete -c ferry -n "__fish_ferry_using_subcommand rewrite" -l certs-dir -d 'certs.d-style directory (DIR/HOST[:PORT]/ with *.crt CAs, *.cert + *.key client certificates) instead of /etc/docker/certs.d and /etc/containers/certs.d; repeatable' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand rewrite" -l registry-timeout -d 'Deadline of each registry request other than a blob body, and the time in which a blob body must move 64 KiB (e.g. 30s, 2m)' -r
complete -c ferry -n "__fish_ferry_using_subcommand rewrite" -l in-place -d 'Rewrite the files themselves, each atomically, all or nothing'
complete -c ferry -n "__fish_ferry_using_subcommand rewrite" -l diff -d 'Print a unified diff and write nothing'
complete -c ferry -n "__fish_ferry_using_subcommand rewrite" -l pin-digests -d 'Write name:tag@sha256:... (digests from the bundle\'s ferry.json, else from the target registry); with --values-out, in the chart\'s digest or tag values'
complete -c ferry -n "__fish_ferry_using_subcommand rewrite" -s v -l verbose -d 'Log every registry and API server request to stderr: method, URL (without its query), status, time; never credentials'
complete -c ferry -n "__fish_ferry_using_subcommand rewrite" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferry -n "__fish_ferry_using_subcommand rewrite" -s V -l version -d 'Print version'
complete -c ferry -n "__fish_ferry_using_subcommand apply" -l kubeconfig -d 'Kubeconfig file [default: $KUBECONFIG, ~/.kube/config, then in-cluster]' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand apply" -l context -d 'Kubeconfig context' -r
complete -c ferry -n "__fish_ferry_using_subcommand apply" -s n -l namespace -d 'Namespace for namespaced objects that name none, and of the release\'s record [default: the context\'s]' -r
complete -c ferry -n "__fish_ferry_using_subcommand apply" -l timeout -d 'Longest the whole run waits (CRDs, webhook backends, --wait): 300, 90s, 5m, 1h30m' -r
complete -c ferry -n "__fish_ferry_using_subcommand apply" -l dry-run -d 'Change nothing; `--dry-run` alone is `--dry-run=client`, as kubectl reads it' -r -f -a "client\t'Print the ordered plan; contact no cluster'
server\t'Send every request with dryRun=All and report what would change'"
complete -c ferry -n "__fish_ferry_using_subcommand apply" -s o -l output -d 'Output format' -r -f -a "text\t'Progress bars on a terminal, one line per image otherwise'
json\t'NDJSON: one event per image (apply: per object), then a summary'"
complete -c ferry -n "__fish_ferry_using_subcommand apply" -l registry-config -d 'Docker-style credentials file for --pull-secret [default: as for mirror]' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand apply" -l pull-secret -d 'Create this kubernetes.io/dockerconfigjson Secret in every namespace used and list it in the ServiceAccounts' -r
complete -c ferry -n "__fish_ferry_using_subcommand apply" -l registry -d 'Registry the secret is for [default: the one registry the manifests\' images use]' -r
complete -c ferry -n "__fish_ferry_using_subcommand apply" -l registry-username -d 'User for the secret [default: from the docker config]' -r
complete -c ferry -n "__fish_ferry_using_subcommand apply" -l kustomize -d 'Program that renders kustomizations: kustomize (runs `build`) or kubectl (runs `kustomize`); none: ferry\'s own images pass [default: kustomize, else kubectl, on PATH]' -r
complete -c ferry -n "__fish_ferry_using_subcommand apply" -l helm -d 'Helm program that renders charts (`helm template`) [default: helm on PATH]' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand apply" -s f -l values -d 'Values file for charts, as helm\'s -f; repeatable, a later one wins' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand apply" -l set -d 'Set a chart value, as helm\'s --set; repeatable' -r
complete -c ferry -n "__fish_ferry_using_subcommand apply" -l set-string -d 'Set a chart value as a string, as helm\'s --set-string; repeatable' -r
complete -c ferry -n "__fish_ferry_using_subcommand apply" -l release-name -d 'Release name charts are rendered with [default: the chart\'s name]' -r
complete -c ferry -n "__fish_ferry_using_subcommand apply" -l kube-version -d 'Kubernetes version charts are rendered for (.Capabilities.KubeVersion), as helm\'s' -r
complete -c ferry -n "__fish_ferry_using_subcommand apply" -l api-versions -d 'API versions charts may use (.Capabilities.APIVersions), as helm\'s; repeatable' -r
complete -c ferry -n "__fish_ferry_using_subcommand apply" -l release -d 'Record what is applied as release NAME, an upgrade of it if it exists (pruning what the files no longer have), as install does' -r
complete -c ferry -n "__fish_ferry_using_subcommand apply" -l history-max -d 'With --release: revisions kept in the release\'s history' -r
complete -c ferry -n "__fish_ferry_using_subcommand apply" -l force-conflicts -d 'Take over fields another manager owns'
complete -c ferry -n "__fish_ferry_using_subcommand apply" -l create-namespace -d 'Create the namespace (-n, else the context\'s) when it does not exist, as helm\'s --create-namespace'
complete -c ferry -n "__fish_ferry_using_subcommand apply" -l wait -d 'Wait for Deployments, StatefulSets, DaemonSets and Jobs to be ready'
complete -c ferry -n "__fish_ferry_using_subcommand apply" -l registry-password-stdin -d 'Read the secret\'s password from standard input'
complete -c ferry -n "__fish_ferry_using_subcommand apply" -l no-prune -d 'With --release: keep what earlier revisions applied and these files do not have'
complete -c ferry -n "__fish_ferry_using_subcommand apply" -l prune-crds -d 'With --release: let prune delete CRDs too'
complete -c ferry -n "__fish_ferry_using_subcommand apply" -s v -l verbose -d 'Log every registry and API server request to stderr: method, URL (without its query), status, time; never credentials'
complete -c ferry -n "__fish_ferry_using_subcommand apply" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferry -n "__fish_ferry_using_subcommand apply" -s V -l version -d 'Print version'
complete -c ferry -n "__fish_ferry_using_subcommand install" -l to -d 'Private registry and optional repository prefix, e.g. harbor.example.com/team' -r
complete -c ferry -n "__fish_ferry_using_subcommand install" -l layout -d 'How source repositories are named under the target' -r -f -a "path\t'`quay.io/prometheus/prometheus` → `TARGET/prometheus/prometheus`'
host-path\t'`quay.io/prometheus/prometheus` → `TARGET/quay.io/prometheus/prometheus`'
flat\t'`quay.io/prometheus/prometheus` → `TARGET/prometheus`'"
complete -c ferry -n "__fish_ferry_using_subcommand install" -s j -l jobs -d 'Blob transfers at once' -r
complete -c ferry -n "__fish_ferry_using_subcommand install" -l workdir -d 'Where the rewritten manifests are written [default: BUNDLE-NAME.rewritten/ beside the bundle]' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand install" -l dry-run -d 'Change nothing (client: plan every step; server: also ask the API server); `--dry-run` alone is `--dry-run=client`' -r -f -a "client\t'Print the ordered plan; contact no cluster'
server\t'Send every request with dryRun=All and report what would change'"
complete -c ferry -n "__fish_ferry_using_subcommand install" -l kubeconfig -d 'Kubeconfig file [default: $KUBECONFIG, ~/.kube/config, then in-cluster]' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand install" -l context -d 'Kubeconfig context' -r
complete -c ferry -n "__fish_ferry_using_subcommand install" -s n -l namespace -d 'Namespace for namespaced objects that name none, and of the release\'s record [default: the context\'s]' -r
complete -c ferry -n "__fish_ferry_using_subcommand install" -l timeout -d 'Longest the whole run waits (CRDs, webhook backends, --wait): 300, 90s, 5m, 1h30m' -r
complete -c ferry -n "__fish_ferry_using_subcommand install" -s o -l output -d 'Output format' -r -f -a "text\t'Progress bars on a terminal, one line per image otherwise'
json\t'NDJSON: one event per image (apply: per object), then a summary'"
complete -c ferry -n "__fish_ferry_using_subcommand install" -l pull-secret -d 'Create this kubernetes.io/dockerconfigjson Secret in every namespace used and list it in the ServiceAccounts' -r
complete -c ferry -n "__fish_ferry_using_subcommand install" -l registry -d 'Registry the secret is for [default: the one registry the manifests\' images use]' -r
complete -c ferry -n "__fish_ferry_using_subcommand install" -l registry-username -d 'User for the secret [default: from the docker config]' -r
complete -c ferry -n "__fish_ferry_using_subcommand install" -l helm -d 'Helm program that renders charts (`helm template`) [default: helm on PATH]' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand install" -s f -l values -d 'Values file for charts, as helm\'s -f; repeatable, a later one wins' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand install" -l set -d 'Set a chart value, as helm\'s --set; repeatable' -r
complete -c ferry -n "__fish_ferry_using_subcommand install" -l set-string -d 'Set a chart value as a string, as helm\'s --set-string; repeatable' -r
complete -c ferry -n "__fish_ferry_using_subcommand install" -l release -d 'The release to install or upgrade [default: the bundle\'s product name]' -r
complete -c ferry -n "__fish_ferry_using_subcommand install" -l history-max -d 'Revisions kept in the release\'s history' -r
complete -c ferry -n "__fish_ferry_using_subcommand install" -l key -d 'The vendor\'s public key (PEM): the bundle must be signed as a whole by one of the keys and every image carry a signature one of them verifies, or nothing is read for action, pushed or applied; repeatable' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand install" -l registry-config -d 'Docker-style credentials file [default: $REGISTRY_AUTH_FILE or $XDG_RUNTIME_DIR/containers/auth.json, then ~/.config/containers/auth.json, then $DOCKER_CONFIG/config.json or ~/.docker/config.json]' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand install" -l ca-file -d 'Extra CA certificate (PEM) to trust for every registry; repeatable' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand install" -l insecure-registry -d 'Allow plain HTTP or unverified TLS for this host[:port] only; repeatable' -r
complete -c ferry -n "__fish_ferry_using_subcommand install" -l certs-dir -d 'certs.d-style directory (DIR/HOST[:PORT]/ with *.crt CAs, *.cert + *.key client certificates) instead of /etc/docker/certs.d and /etc/containers/certs.d; repeatable' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand install" -l registry-timeout -d 'Deadline of each registry request other than a blob body, and the time in which a blob body must move 64 KiB (e.g. 30s, 2m)' -r
complete -c ferry -n "__fish_ferry_using_subcommand install" -l no-pin-digests -d 'Keep tags only in the rewritten manifests (by default they also carry the bundle\'s digests)'
complete -c ferry -n "__fish_ferry_using_subcommand install" -l force-conflicts -d 'Take over fields another manager owns'
complete -c ferry -n "__fish_ferry_using_subcommand install" -l create-namespace -d 'Create the namespace (-n, else the context\'s) when it does not exist, as helm\'s --create-namespace'
complete -c ferry -n "__fish_ferry_using_subcommand install" -l wait -d 'Wait for Deployments, StatefulSets, DaemonSets and Jobs to be ready'
complete -c ferry -n "__fish_ferry_using_subcommand install" -l registry-password-stdin -d 'Read the secret\'s password from standard input'
complete -c ferry -n "__fish_ferry_using_subcommand install" -l no-prune -d 'Keep what earlier revisions applied and this one does not have (by default deleted)'
complete -c ferry -n "__fish_ferry_using_subcommand install" -l prune-crds -d 'Let prune delete CRDs too (deleting a CRD deletes every resource of its kind)'
complete -c ferry -n "__fish_ferry_using_subcommand install" -s v -l verbose -d 'Log every registry and API server request to stderr: method, URL (without its query), status, time; never credentials'
complete -c ferry -n "__fish_ferry_using_subcommand install" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferry -n "__fish_ferry_using_subcommand install" -s V -l version -d 'Print version'
complete -c ferry -n "__fish_ferry_using_subcommand login" -s u -l username -d 'User name' -r
complete -c ferry -n "__fish_ferry_using_subcommand login" -l registry-config -d 'Docker-style credentials file [default: $REGISTRY_AUTH_FILE or $XDG_RUNTIME_DIR/containers/auth.json, then ~/.config/containers/auth.json, then $DOCKER_CONFIG/config.json or ~/.docker/config.json]' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand login" -l ca-file -d 'Extra CA certificate (PEM) to trust for every registry; repeatable' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand login" -l insecure-registry -d 'Allow plain HTTP or unverified TLS for this host[:port] only; repeatable' -r
complete -c ferry -n "__fish_ferry_using_subcommand login" -l certs-dir -d 'certs.d-style directory (DIR/HOST[:PORT]/ with *.crt CAs, *.cert + *.key client certificates) instead of /etc/docker/certs.d and /etc/containers/certs.d; repeatable' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand login" -l registry-timeout -d 'Deadline of each registry request other than a blob body, and the time in which a blob body must move 64 KiB (e.g. 30s, 2m)' -r
complete -c ferry -n "__fish_ferry_using_subcommand login" -l password-stdin -d 'Read the password from standard input [default on a terminal: ask for it, without echo]; passwords never go on the command line'
complete -c ferry -n "__fish_ferry_using_subcommand login" -s v -l verbose -d 'Log every registry and API server request to stderr: method, URL (without its query), status, time; never credentials'
complete -c ferry -n "__fish_ferry_using_subcommand login" -s h -l help -d 'Print help'
complete -c ferry -n "__fish_ferry_using_subcommand login" -s V -l version -d 'Print version'
complete -c ferry -n "__fish_ferry_using_subcommand logout" -l registry-config -d 'The credentials file [default: as login writes it: $DOCKER_CONFIG/config.json or ~/.docker/config.json]' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand logout" -s v -l verbose -d 'Log every registry and API server request to stderr: method, URL (without its query), status, time; never credentials'
complete -c ferry -n "__fish_ferry_using_subcommand logout" -s h -l help -d 'Print help'
complete -c ferry -n "__fish_ferry_using_subcommand logout" -s V -l version -d 'Print version'
complete -c ferry -n "__fish_ferry_using_subcommand cache; and not __fish_seen_subcommand_from size prune help" -s v -l verbose -d 'Log every registry and API server request to stderr: method, URL (without its query), status, time; never credentials'
complete -c ferry -n "__fish_ferry_using_subcommand cache; and not __fish_seen_subcommand_from size prune help" -s h -l help -d 'Print help'
complete -c ferry -n "__fish_ferry_using_subcommand cache; and not __fish_seen_subcommand_from size prune help" -s V -l version -d 'Print version'
complete -c ferry -n "__fish_ferry_using_subcommand cache; and not __fish_seen_subcommand_from size prune help" -f -a "size" -d 'Print how many blobs and bytes the cache holds'
complete -c ferry -n "__fish_ferry_using_subcommand cache; and not __fish_seen_subcommand_from size prune help" -f -a "prune" -d 'Remove cached blobs: all, or those last used longer ago than --older-than'
complete -c ferry -n "__fish_ferry_using_subcommand cache; and not __fish_seen_subcommand_from size prune help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ferry -n "__fish_ferry_using_subcommand cache; and __fish_seen_subcommand_from size" -l cache -d 'Blob cache directory [default: $XDG_CACHE_HOME/ferry or ~/.cache/ferry]' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand cache; and __fish_seen_subcommand_from size" -s v -l verbose -d 'Log every registry and API server request to stderr: method, URL (without its query), status, time; never credentials'
complete -c ferry -n "__fish_ferry_using_subcommand cache; and __fish_seen_subcommand_from size" -s h -l help -d 'Print help'
complete -c ferry -n "__fish_ferry_using_subcommand cache; and __fish_seen_subcommand_from size" -s V -l version -d 'Print version'
complete -c ferry -n "__fish_ferry_using_subcommand cache; and __fish_seen_subcommand_from prune" -l cache -d 'Blob cache directory [default: $XDG_CACHE_HOME/ferry or ~/.cache/ferry]' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand cache; and __fish_seen_subcommand_from prune" -l older-than -d 'Only blobs last used (fetched, or used by a bundle) longer ago: 7d, 12h, 90m' -r
complete -c ferry -n "__fish_ferry_using_subcommand cache; and __fish_seen_subcommand_from prune" -s v -l verbose -d 'Log every registry and API server request to stderr: method, URL (without its query), status, time; never credentials'
complete -c ferry -n "__fish_ferry_using_subcommand cache; and __fish_seen_subcommand_from prune" -s h -l help -d 'Print help'
complete -c ferry -n "__fish_ferry_using_subcommand cache; and __fish_seen_subcommand_from prune" -s V -l version -d 'Print version'
complete -c ferry -n "__fish_ferry_using_subcommand cache; and __fish_seen_subcommand_from help" -f -a "size" -d 'Print how many blobs and bytes the cache holds'
complete -c ferry -n "__fish_ferry_using_subcommand cache; and __fish_seen_subcommand_from help" -f -a "prune" -d 'Remove cached blobs: all, or those last used longer ago than --older-than'
complete -c ferry -n "__fish_ferry_using_subcommand cache; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ferry -n "__fish_ferry_using_subcommand status" -l kubeconfig -d 'Kubeconfig file [default: $KUBECONFIG, ~/.kube/config, then in-cluster]' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand status" -l context -d 'Kubeconfig context' -r
complete -c ferry -n "__fish_ferry_using_subcommand status" -s n -l namespace -d 'Namespace for namespaced objects that name none, and of the release\'s record [default: the context\'s]' -r
complete -c ferry -n "__fish_ferry_using_subcommand status" -s o -l output -r -f -a "table\t'For people'
json\t'One JSON document'"
complete -c ferry -n "__fish_ferry_using_subcommand status" -l registry-config -d 'Docker-style credentials file [default: $REGISTRY_AUTH_FILE or $XDG_RUNTIME_DIR/containers/auth.json, then ~/.config/containers/auth.json, then $DOCKER_CONFIG/config.json or ~/.docker/config.json]' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand status" -l ca-file -d 'Extra CA certificate (PEM) to trust for every registry; repeatable' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand status" -l insecure-registry -d 'Allow plain HTTP or unverified TLS for this host[:port] only; repeatable' -r
complete -c ferry -n "__fish_ferry_using_subcommand status" -l certs-dir -d 'certs.d-style directory (DIR/HOST[:PORT]/ with *.crt CAs, *.cert + *.key client certificates) instead of /etc/docker/certs.d and /etc/containers/certs.d; repeatable' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand status" -l registry-timeout -d 'Deadline of each registry request other than a blob body, and the time in which a blob body must move 64 KiB (e.g. 30s, 2m)' -r
complete -c ferry -n "__fish_ferry_using_subcommand status" -s v -l verbose -d 'Log every registry and API server request to stderr: method, URL (without its query), status, time; never credentials'
complete -c ferry -n "__fish_ferry_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferry -n "__fish_ferry_using_subcommand status" -s V -l version -d 'Print version'
complete -c ferry -n "__fish_ferry_using_subcommand rollback" -l kubeconfig -d 'Kubeconfig file [default: $KUBECONFIG, ~/.kube/config, then in-cluster]' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand rollback" -l context -d 'Kubeconfig context' -r
complete -c ferry -n "__fish_ferry_using_subcommand rollback" -s n -l namespace -d 'Namespace for namespaced objects that name none, and of the release\'s record [default: the context\'s]' -r
complete -c ferry -n "__fish_ferry_using_subcommand rollback" -l dry-run -d 'Change nothing (client: the plan; server: also ask the API server)' -r -f -a "client\t'Print the ordered plan; contact no cluster'
server\t'Send every request with dryRun=All and report what would change'"
complete -c ferry -n "__fish_ferry_using_subcommand rollback" -l timeout -d 'Longest the whole run waits: 300, 90s, 5m' -r
complete -c ferry -n "__fish_ferry_using_subcommand rollback" -l history-max -d 'Revisions kept in the release\'s history' -r
complete -c ferry -n "__fish_ferry_using_subcommand rollback" -s o -l output -r -f -a "text\t'Progress bars on a terminal, one line per image otherwise'
json\t'NDJSON: one event per image (apply: per object), then a summary'"
complete -c ferry -n "__fish_ferry_using_subcommand rollback" -l registry-config -d 'Docker-style credentials file [default: $REGISTRY_AUTH_FILE or $XDG_RUNTIME_DIR/containers/auth.json, then ~/.config/containers/auth.json, then $DOCKER_CONFIG/config.json or ~/.docker/config.json]' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand rollback" -l ca-file -d 'Extra CA certificate (PEM) to trust for every registry; repeatable' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand rollback" -l insecure-registry -d 'Allow plain HTTP or unverified TLS for this host[:port] only; repeatable' -r
complete -c ferry -n "__fish_ferry_using_subcommand rollback" -l certs-dir -d 'certs.d-style directory (DIR/HOST[:PORT]/ with *.crt CAs, *.cert + *.key client certificates) instead of /etc/docker/certs.d and /etc/containers/certs.d; repeatable' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand rollback" -l registry-timeout -d 'Deadline of each registry request other than a blob body, and the time in which a blob body must move 64 KiB (e.g. 30s, 2m)' -r
complete -c ferry -n "__fish_ferry_using_subcommand rollback" -l force-conflicts -d 'Take over fields another manager owns'
complete -c ferry -n "__fish_ferry_using_subcommand rollback" -l wait -d 'Wait for the workloads to be ready'
complete -c ferry -n "__fish_ferry_using_subcommand rollback" -s v -l verbose -d 'Log every registry and API server request to stderr: method, URL (without its query), status, time; never credentials'
complete -c ferry -n "__fish_ferry_using_subcommand rollback" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferry -n "__fish_ferry_using_subcommand rollback" -s V -l version -d 'Print version'
complete -c ferry -n "__fish_ferry_using_subcommand uninstall" -l kubeconfig -d 'Kubeconfig file [default: $KUBECONFIG, ~/.kube/config, then in-cluster]' -r -F
complete -c ferry -n "__fish_ferry_using_subcommand uninstall" -l context -d 'Kubeconfig context' -r
complete -c ferry -n "__fish_ferry_using_subcommand uninstall" -s n -l namespace -d 'Namespace for namespaced objects that name none, and of the release\'s record [default: the context\'s]' -r
complete -c ferry -n "__fish_ferry_using_subcommand uninstall" -l timeout -d 'Longest it waits for the objects to be gone: 300, 90s, 5m' -r
complete -c ferry -n "__fish_ferry_using_subcommand uninstall" -s o -l output -r -f -a "text\t'Progress bars on a terminal, one line per image otherwise'
json\t'NDJSON: one event per image (apply: per object), then a summary'"
complete -c ferry -n "__fish_ferry_using_subcommand uninstall" -l dry-run -d 'Delete nothing: say what would be deleted (asks the API server)'
complete -c ferry -n "__fish_ferry_using_subcommand uninstall" -l delete-crds -d 'Delete the release\'s CRDs too (and with them every resource of their kinds)'
complete -c ferry -n "__fish_ferry_using_subcommand uninstall" -l delete-namespaces -d 'Delete the release\'s namespaces too (and everything in them)'
complete -c ferry -n "__fish_ferry_using_subcommand uninstall" -s v -l verbose -d 'Log every registry and API server request to stderr: method, URL (without its query), status, time; never credentials'
complete -c ferry -n "__fish_ferry_using_subcommand uninstall" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferry -n "__fish_ferry_using_subcommand uninstall" -s V -l version -d 'Print version'
complete -c ferry -n "__fish_ferry_using_subcommand version" -s v -l verbose -d 'Log every registry and API server request to stderr: method, URL (without its query), status, time; never credentials'
complete -c ferry -n "__fish_ferry_using_subcommand version" -s h -l help -d 'Print help'
complete -c ferry -n "__fish_ferry_using_subcommand version" -s V -l version -d 'Print version'
complete -c ferry -n "__fish_ferry_using_subcommand completions" -s v -l verbose -d 'Log every registry and API server request to stderr: method, URL (without its query), status, time; never credentials'
complete -c ferry -n "__fish_ferry_using_subcommand completions" -s h -l help -d 'Print help'
complete -c ferry -n "__fish_ferry_using_subcommand completions" -s V -l version -d 'Print version'
complete -c ferry -n "__fish_ferry_using_subcommand help; and not __fish_seen_subcommand_from scan mirror bundle receipt inspect verify push rewrite apply install login logout cache status rollback uninstall version completions help" -f -a "scan" -d 'Find every image reference in manifests, custom resources and values files'
complete -c ferry -n "__fish_ferry_using_subcommand help; and not __fish_seen_subcommand_from scan mirror bundle receipt inspect verify push rewrite apply install login logout cache status rollback uninstall version completions help" -f -a "mirror" -d 'Copy every image the manifests name into another registry, digests unchanged'
complete -c ferry -n "__fish_ferry_using_subcommand help; and not __fish_seen_subcommand_from scan mirror bundle receipt inspect verify push rewrite apply install login logout cache status rollback uninstall version completions help" -f -a "bundle" -d 'Write manifests and every image they need into one airgap bundle (a tar)'
complete -c ferry -n "__fish_ferry_using_subcommand help; and not __fish_seen_subcommand_from scan mirror bundle receipt inspect verify push rewrite apply install login logout cache status rollback uninstall version completions help" -f -a "receipt" -d 'Write what the site holds (from its registry or the bundles it received), for a delta bundle'
complete -c ferry -n "__fish_ferry_using_subcommand help; and not __fish_seen_subcommand_from scan mirror bundle receipt inspect verify push rewrite apply install login logout cache status rollback uninstall version completions help" -f -a "inspect" -d 'Show a bundle\'s images, platforms, sizes and manifests without extracting it'
complete -c ferry -n "__fish_ferry_using_subcommand help; and not __fish_seen_subcommand_from scan mirror bundle receipt inspect verify push rewrite apply install login logout cache status rollback uninstall version completions help" -f -a "verify" -d 'Re-hash every blob and check every manifest, index and descriptor of a bundle'
complete -c ferry -n "__fish_ferry_using_subcommand help; and not __fish_seen_subcommand_from scan mirror bundle receipt inspect verify push rewrite apply install login logout cache status rollback uninstall version completions help" -f -a "push" -d 'Push a bundle\'s images into a registry, reading blobs straight from the tar'
complete -c ferry -n "__fish_ferry_using_subcommand help; and not __fish_seen_subcommand_from scan mirror bundle receipt inspect verify push rewrite apply install login logout cache status rollback uninstall version completions help" -f -a "rewrite" -d 'Point manifests and custom resources at the private registry, changing nothing else'
complete -c ferry -n "__fish_ferry_using_subcommand help; and not __fish_seen_subcommand_from scan mirror bundle receipt inspect verify push rewrite apply install login logout cache status rollback uninstall version completions help" -f -a "apply" -d 'Apply manifests to the cluster in order (CRDs, namespaces, foundations, workloads, CRs)'
complete -c ferry -n "__fish_ferry_using_subcommand help; and not __fish_seen_subcommand_from scan mirror bundle receipt inspect verify push rewrite apply install login logout cache status rollback uninstall version completions help" -f -a "install" -d 'From a bundle, in one command: verify, push, rewrite, pull secret, apply, wait'
complete -c ferry -n "__fish_ferry_using_subcommand help; and not __fish_seen_subcommand_from scan mirror bundle receipt inspect verify push rewrite apply install login logout cache status rollback uninstall version completions help" -f -a "login" -d 'Save credentials for a registry in the docker config, after checking them'
complete -c ferry -n "__fish_ferry_using_subcommand help; and not __fish_seen_subcommand_from scan mirror bundle receipt inspect verify push rewrite apply install login logout cache status rollback uninstall version completions help" -f -a "logout" -d 'Remove a registry\'s saved credentials (from the config file and its credential helper)'
complete -c ferry -n "__fish_ferry_using_subcommand help; and not __fish_seen_subcommand_from scan mirror bundle receipt inspect verify push rewrite apply install login logout cache status rollback uninstall version completions help" -f -a "cache" -d 'Show or trim the blob cache bundles read from'
complete -c ferry -n "__fish_ferry_using_subcommand help; and not __fish_seen_subcommand_from scan mirror bundle receipt inspect verify push rewrite apply install login logout cache status rollback uninstall version completions help" -f -a "status" -d 'Show the releases ferry installed: version, revision, members and images now'
complete -c ferry -n "__fish_ferry_using_subcommand help; and not __fish_seen_subcommand_from scan mirror bundle receipt inspect verify push rewrite apply install login logout cache status rollback uninstall version completions help" -f -a "rollback" -d 'Apply an earlier revision of a release again (as a new revision), from its record'
complete -c ferry -n "__fish_ferry_using_subcommand help; and not __fish_seen_subcommand_from scan mirror bundle receipt inspect verify push rewrite apply install login logout cache status rollback uninstall version completions help" -f -a "uninstall" -d 'Delete a release\'s objects, its pull secret and its record'
complete -c ferry -n "__fish_ferry_using_subcommand help; and not __fish_seen_subcommand_from scan mirror bundle receipt inspect verify push rewrite apply install login logout cache status rollback uninstall version completions help" -f -a "version" -d 'Print ferry\'s version, commit and build date'
complete -c ferry -n "__fish_ferry_using_subcommand help; and not __fish_seen_subcommand_from scan mirror bundle receipt inspect verify push rewrite apply install login logout cache status rollback uninstall version completions help" -f -a "completions" -d 'Print a shell completion script'
complete -c ferry -n "__fish_ferry_using_subcommand help; and not __fish_seen_subcommand_from scan mirror bundle receipt inspect verify push rewrite apply install login logout cache status rollback uninstall version completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ferry -n "__fish_ferry_using_subcommand help; and __fish_seen_subcommand_from cache" -f -a "size" -d 'Print how many blobs and bytes the cache holds'
complete -c ferry -n "__fish_ferry_using_subcommand help; and __fish_seen_subcommand_from cache" -f -a "prune" -d 'Remove cached blobs: all, or those last used longer ago than --older-than'
