//! The command-line surface, as clap definitions (also used to generate completions).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

mod examples;
pub mod release;
mod tips;

pub use tips::parse;

#[derive(Debug, Parser)]
#[command(
    name = "ferry",
    version,
    about = "Carry Kubernetes operators and every image they need across an air gap",
    propagate_version = true
)]
pub struct Cli {
    /// Log every registry and API server request to stderr: method, URL (without its
    /// query), status, time; never credentials
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Find every image reference in manifests, custom resources and values files
    #[command(after_help = examples::SCAN)]
    Scan(ScanArgs),
    /// Copy every image the manifests name into another registry, digests unchanged
    #[command(after_help = examples::MIRROR)]
    Mirror(MirrorArgs),
    /// Write manifests and every image they need into one airgap bundle (a tar)
    #[command(after_help = examples::BUNDLE)]
    Bundle(BundleArgs),
    /// Write what the site holds (from its registry or the bundles it received), for a delta bundle
    #[command(after_help = examples::RECEIPT)]
    Receipt(ReceiptArgs),
    /// Show a bundle's images, platforms, sizes and manifests without extracting it
    #[command(after_help = examples::INSPECT)]
    Inspect(InspectArgs),
    /// Re-hash every blob and check every manifest, index and descriptor of a bundle
    #[command(after_help = examples::VERIFY)]
    Verify(VerifyArgs),
    /// Push a bundle's images into a registry, reading blobs straight from the tar
    #[command(after_help = examples::PUSH)]
    Push(PushArgs),
    /// Point manifests and custom resources at the private registry, changing nothing else
    #[command(after_help = examples::REWRITE)]
    Rewrite(RewriteArgs),
    /// Apply manifests to the cluster in order (CRDs, namespaces, foundations, workloads, CRs)
    #[command(after_help = examples::APPLY)]
    Apply(ApplyArgs),
    /// From a bundle, in one command: verify, push, rewrite, pull secret, apply, wait
    #[command(after_help = examples::INSTALL)]
    Install(InstallArgs),
    /// Save credentials for a registry in the docker config, after checking them
    #[command(after_help = examples::LOGIN)]
    Login(LoginArgs),
    /// Remove a registry's saved credentials (from the config file and its credential helper)
    #[command(after_help = examples::LOGOUT)]
    Logout(LogoutArgs),
    /// Show or trim the blob cache bundles read from
    #[command(subcommand, after_help = examples::CACHE)]
    Cache(CacheCommand),
    /// Show the releases ferry installed: version, revision, members and images now
    #[command(after_help = examples::STATUS)]
    Status(release::StatusArgs),
    /// Apply an earlier revision of a release again (as a new revision), from its record
    #[command(after_help = examples::ROLLBACK)]
    Rollback(release::RollbackArgs),
    /// Delete a release's objects, its pull secret and its record
    #[command(after_help = examples::UNINSTALL)]
    Uninstall(release::UninstallArgs),
    /// Print ferry's version, commit and build date
    Version,
    /// Print a shell completion script
    Completions {
        /// The shell to generate for
        shell: clap_complete::Shell,
    },
}

/// `ferry cache`: the blob cache `bundle` fills (every layer it ever pulled).
#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Print how many blobs and bytes the cache holds
    Size(CacheArgs),
    /// Remove cached blobs: all, or those last used longer ago than --older-than
    Prune {
        #[command(flatten)]
        cache: CacheArgs,
        /// Only blobs last used (fetched, or used by a bundle) longer ago: 7d, 12h, 90m
        #[arg(long, value_name = "DURATION", value_parser = duration)]
        older_than: Option<std::time::Duration>,
    },
}

#[derive(Debug, Clone, clap::Args)]
pub struct CacheArgs {
    /// Blob cache directory [default: $XDG_CACHE_HOME/ferry or ~/.cache/ferry]
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
}

/// What `--signatures` asks of every image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SignaturePolicy {
    /// Every image must carry a cosign signature
    Require,
}

/// How `scan` prints its findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanOutput {
    /// One row per distinct image with where it was found (default on a terminal)
    Table,
    /// Every hit with all its fields, as one JSON document
    Json,
    /// One normalized reference per line (default when piped)
    List,
}

#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Files, directories (walked for *.yaml, *.yml, *.json), Helm charts (a directory, a
    /// .tgz, oci://HOST/REPO/CHART:VERSION) or - for stdin
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// YAML file of extra rules: kinds and paths of image fields the built-ins miss
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Output format [default: table on a terminal, list otherwise]
    #[arg(long, short = 'o', value_enum)]
    pub output: Option<ScanOutput>,
    /// Show every occurrence with the rule that matched and its reasoning
    #[arg(long)]
    pub why: bool,
    /// Report every unreadable or invalid file and scan the rest (exit code stays 3)
    #[arg(long)]
    pub keep_going: bool,
    #[command(flatten)]
    pub catalog: CatalogArgs,
    #[command(flatten)]
    pub render: RenderArgs,
    #[command(flatten)]
    pub chart_namespace: ChartNamespaceArg,
    /// For oci:// chart inputs
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// How inputs that must be rendered are rendered.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RenderArgs {
    /// Program that renders kustomizations: kustomize (runs `build`) or kubectl (runs
    /// `kustomize`); none: ferry's own images pass [default: kustomize, else kubectl, on PATH]
    #[arg(long, value_name = "PROGRAM|none")]
    pub kustomize: Option<ferry_scan::render::KustomizeChoice>,
    #[command(flatten)]
    pub values: ChartValuesArgs,
    /// Release name charts are rendered with [default: the chart's name]
    #[arg(long, value_name = "NAME")]
    pub release_name: Option<String>,
    /// Kubernetes version charts are rendered for (.Capabilities.KubeVersion), as helm's
    #[arg(long, value_name = "VERSION")]
    pub kube_version: Option<String>,
    /// API versions charts may use (.Capabilities.APIVersions), as helm's; repeatable
    #[arg(long, value_name = "GROUP/VERSION")]
    pub api_versions: Vec<String>,
}

/// The namespace charts are rendered for, where no cluster option already names one.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ChartNamespaceArg {
    /// Namespace charts are rendered for (.Release.Namespace), as helm's [default: default]
    #[arg(long, short = 'n', value_name = "NAMESPACE")]
    pub namespace: Option<String>,
}

/// Options of every command that talks to a registry.
#[derive(Debug, Clone, clap::Args)]
pub struct RegistryArgs {
    /// Docker-style credentials file [default: $REGISTRY_AUTH_FILE or $XDG_RUNTIME_DIR/containers/auth.json, then ~/.config/containers/auth.json, then $DOCKER_CONFIG/config.json or ~/.docker/config.json]
    #[arg(long, value_name = "FILE")]
    pub registry_config: Option<PathBuf>,
    /// Extra CA certificate (PEM) to trust for every registry; repeatable
    #[arg(long, value_name = "FILE")]
    pub ca_file: Vec<PathBuf>,
    /// Allow plain HTTP or unverified TLS for this host[:port] only; repeatable
    #[arg(long, value_name = "HOST")]
    pub insecure_registry: Vec<String>,
    /// certs.d-style directory (DIR/HOST[:PORT]/ with *.crt CAs, *.cert + *.key client
    /// certificates) instead of /etc/docker/certs.d and /etc/containers/certs.d; repeatable
    #[arg(long, value_name = "DIR")]
    pub certs_dir: Vec<PathBuf>,
    /// Deadline of each registry request other than a blob body, and the time in which a
    /// blob body must move 64 KiB (e.g. 30s, 2m)
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = duration)]
    pub registry_timeout: std::time::Duration,
}

/// How `mirror` and `push` report progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CopyOutput {
    /// Progress bars on a terminal, one line per image otherwise
    Text,
    /// NDJSON: one event per image (apply: per object), then a summary
    Json,
}

/// Options of commands that copy images.
#[derive(Debug, Clone, clap::Args)]
pub struct CopyArgs {
    /// Target registry and optional repository prefix, e.g. harbor.example.com/team
    #[arg(long, value_name = "REGISTRY[/PREFIX]")]
    pub to: String,
    /// How source repositories are named under the target
    #[arg(long, value_enum, default_value_t = ferry_core::target::Layout::Path)]
    pub layout: ferry_core::target::Layout,
    /// Platforms of multi-arch images to copy: all, or os/arch[/variant],... (a filtered index gets a new digest) [default: all, or a ferry.yaml's platforms]
    #[arg(long, value_name = "all|OS/ARCH[/VARIANT],...")]
    pub platform: Option<String>,
    /// Blob transfers at once
    #[arg(long, short = 'j', default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// Print the plan (source -> target for each image) and copy nothing; `--dry-run` is
    /// `--dry-run=client`, as for apply and install
    #[arg(long, value_enum, value_name = "client", num_args = 0..=1, default_missing_value = "client")]
    pub dry_run: Option<PlanOnly>,
    /// Output format
    #[arg(long, short = 'o', value_enum, default_value_t = CopyOutput::Text)]
    pub output: CopyOutput,
}

/// The image pull secret `apply` and `install` create.
#[derive(Debug, Clone, clap::Args)]
pub struct PullSecretArgs {
    /// Create this kubernetes.io/dockerconfigjson Secret in every namespace used and list it in the ServiceAccounts
    #[arg(long, value_name = "NAME")]
    pub pull_secret: Option<String>,
    /// Registry the secret is for [default: the one registry the manifests' images use]
    #[arg(long, value_name = "HOST")]
    pub registry: Option<String>,
    /// User for the secret [default: from the docker config]
    #[arg(long, value_name = "USER", requires = "registry_password_stdin")]
    pub registry_username: Option<String>,
    /// Read the secret's password from standard input
    #[arg(long, requires = "registry_username")]
    pub registry_password_stdin: bool,
}

/// Where the images to copy or bundle come from: scanned manifests and a list.
#[derive(Debug, Clone, clap::Args)]
pub struct ImagesArgs {
    /// Manifests to scan for images: files or directories, or - for stdin
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// File with more images, one reference per line (# comments)
    #[arg(long, value_name = "FILE")]
    pub images: Option<PathBuf>,
    /// Extra scan rules (as for scan)
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Leave out what is attached to the images (cosign signatures, attestations and SBOMs,
    /// OCI referrers), which are carried by default
    #[arg(long, conflicts_with = "signatures")]
    pub no_signatures: bool,
    /// require: an image without a cosign signature stops the run before anything is copied
    #[arg(long, value_enum, value_name = "require")]
    pub signatures: Option<SignaturePolicy>,
    #[command(flatten)]
    pub render: RenderArgs,
    #[command(flatten)]
    pub chart_namespace: ChartNamespaceArg,
}

#[derive(Debug, clap::Args)]
pub struct MirrorArgs {
    #[command(flatten)]
    pub input: ImagesArgs,
    #[command(flatten)]
    pub catalog: CatalogArgs,
    #[command(flatten)]
    pub copy: CopyArgs,
    /// Pull HOST's images from another registry: HOST=REGISTRY[/PREFIX]; repeatable
    #[arg(long, value_name = "HOST=REGISTRY[/PREFIX]")]
    pub source_mirror: Vec<String>,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    /// Registry host[:port]
    pub host: String,
    /// User name
    #[arg(long, short = 'u')]
    pub username: String,
    /// Read the password from standard input [default on a terminal: ask for it, without
    /// echo]; passwords never go on the command line
    #[arg(long)]
    pub password_stdin: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, clap::Args)]
pub struct LogoutArgs {
    /// Registry host[:port]
    pub host: String,
    /// The credentials file [default: as login writes it: $DOCKER_CONFIG/config.json or
    /// ~/.docker/config.json]
    #[arg(long, value_name = "FILE")]
    pub registry_config: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct BundleArgs {
    /// The manifests are scanned and included in the bundle under manifests/
    #[command(flatten)]
    pub input: ImagesArgs,
    #[command(flatten)]
    pub catalog: CatalogArgs,
    /// The bundle to write
    #[arg(
        long,
        short = 'o',
        value_name = "BUNDLE.tar",
        required_unless_present = "check"
    )]
    pub output: Option<PathBuf>,
    /// Check everything (manifests load as objects, no duplicates, every image readable,
    /// free space) and pull and write nothing
    #[arg(long, visible_alias = "dry-run")]
    pub check: bool,
    /// Leave out images that match (`*` wildcards over the normalized reference, e.g.
    /// 'ttl.sh/*'); recorded in the bundle; repeatable
    #[arg(long, value_name = "PATTERN")]
    pub exclude: Vec<String>,
    /// Bundle manifests even when they name no image
    #[arg(long)]
    pub allow_empty: bool,
    /// Compression [default: from the name: .tar.gz/.tgz gzip, .tar.zst zstd, else none]
    #[arg(long, value_enum)]
    pub compress: Option<ferry_oci::bundle::compress::Compression>,
    /// Platforms of multi-arch images to include: all, or os/arch[/variant],... [default: all, or a ferry.yaml's platforms]
    #[arg(long, value_name = "all|OS/ARCH[/VARIANT],...")]
    pub platform: Option<String>,
    /// Blob cache directory [default: $XDG_CACHE_HOME/ferry or ~/.cache/ferry]
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// The product the bundle delivers: install's release name (a DNS label)
    #[arg(long, value_name = "NAME")]
    pub product: Option<String>,
    /// The product's version, recorded by install in the release's history
    #[arg(long, value_name = "VERSION")]
    pub product_version: Option<String>,
    /// Sign the bundle as a whole with this private key (PKCS#8 PEM, ECDSA P-256 or
    /// Ed25519): ferry.json.sig, checked by verify --key and install --key with the public key
    #[arg(long, value_name = "KEY.pem")]
    pub sign_key: Option<PathBuf>,
    /// Make a delta: leave out the layers the site already holds, as a receipt (ferry
    /// receipt) or a bundle delivered before says; repeatable
    #[arg(long, value_name = "RECEIPT|BUNDLE")]
    pub since: Vec<PathBuf>,
    /// Write the bundle in parts of at most SIZE (700M, 4000M for FAT32; K, M, G, T are
    /// powers of 1024): BUNDLE.part-001... and the index BUNDLE.parts.json
    #[arg(long, value_name = "SIZE", value_parser = parse_split)]
    pub split: Option<u64>,
    /// Pull HOST's images from another registry: HOST=REGISTRY[/PREFIX]; repeatable (names in the bundle stay the original ones)
    #[arg(long, value_name = "HOST=REGISTRY[/PREFIX]")]
    pub source_mirror: Vec<String>,
    /// Blob downloads at once
    #[arg(long, short = 'j', default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, clap::Args)]
pub struct ReceiptArgs {
    /// A bundle the site received and pushed; repeatable. With --to: the repositories to
    /// read where the registry does not list its own
    #[arg(long, value_name = "BUNDLE", required_unless_present = "to")]
    pub from_bundle: Vec<PathBuf>,
    /// Read what the site's registry holds under REGISTRY[/PREFIX] (the push's --to)
    #[arg(long, value_name = "REGISTRY[/PREFIX]")]
    pub to: Option<String>,
    /// How the bundles' repositories are named under --to (as push named them)
    #[arg(long, value_enum, default_value_t = ferry_core::target::Layout::Path)]
    pub layout: ferry_core::target::Layout,
    /// Image reads at once
    #[arg(long, short = 'j', default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// The receipt to write
    #[arg(
        long,
        short = 'o',
        value_name = "RECEIPT.json",
        default_value = "receipt.json"
    )]
    pub output: PathBuf,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

fn parse_namespace(text: &str) -> Result<String, String> {
    ferry_oci::bundle::trust::namespace(text)
        .map(|()| text.to_string())
        .map_err(str::to_string)
}

fn parse_split(text: &str) -> Result<u64, String> {
    ferry_oci::bundle::parts::parse_size(text)
}

/// A selection from an OLM catalog (a file-based catalog given as the input).
#[derive(Debug, Clone, clap::Args)]
pub struct CatalogArgs {
    /// The catalog's package to select (without it: what the catalog holds)
    #[arg(long, value_name = "NAME")]
    pub package: Option<String>,
    /// One channel of the package [default: every channel]
    #[arg(long, value_name = "NAME", requires = "package")]
    pub channel: Option<String>,
    /// head (the channel head), all, or a semver range MIN..MAX (either bound optional,
    /// both inclusive)
    #[arg(
        long,
        value_name = "head|all|MIN..MAX",
        default_value = "head",
        requires = "package"
    )]
    pub versions: String,
    /// Write the catalog reduced to the selection (file-based catalog, JSON) to FILE
    #[arg(long, value_name = "FILE", requires = "package")]
    pub filtered_catalog: Option<PathBuf>,
    /// The namespace of the CatalogSource written for the site (OpenShift:
    /// openshift-marketplace)
    #[arg(long, value_name = "NAMESPACE", requires = "package", default_value = "olm", value_parser = parse_namespace)]
    pub catalog_namespace: String,
    /// mirror: write the site's CatalogSource, ClusterCatalog and mirror sets into DIR (a
    /// release spec's catalogs: into DIR/NAME/) [default: catalog-manifests]
    #[arg(long, value_name = "DIR")]
    pub catalog_manifests: Option<PathBuf>,
}

/// How `inspect` and `verify` print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportOutput {
    /// For people
    Table,
    /// One JSON document
    Json,
}

#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// The bundle (or any OCI-layout tar)
    pub bundle: PathBuf,
    #[arg(long, short = 'o', value_enum, default_value_t = ReportOutput::Table)]
    pub output: ReportOutput,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The bundle (or any OCI-layout tar)
    pub bundle: PathBuf,
    #[arg(long, short = 'o', value_enum, default_value_t = ReportOutput::Table)]
    pub output: ReportOutput,
    /// The vendor's public key (PEM; ECDSA P-256 or Ed25519): the bundle must be signed as a
    /// whole (bundle --sign-key) and every image carry a cosign signature that one of the
    /// keys verifies; repeatable
    #[arg(long, value_name = "FILE")]
    pub key: Vec<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct PushArgs {
    /// The bundle (or any OCI-layout tar, e.g. a skopeo oci-archive)
    pub bundle: PathBuf,
    /// Source name for an archive's single unnamed image (e.g. from skopeo without a reference)
    #[arg(long, value_name = "REF")]
    pub name: Option<String>,
    #[command(flatten)]
    pub copy: CopyArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("mode").required(true).args(["out", "in_place", "diff", "values_out"])))]
pub struct RewriteArgs {
    /// Manifest files or directories to rewrite, or one bundle (its manifests/)
    #[arg(value_name = "PATH|BUNDLE", required = true)]
    pub paths: Vec<PathBuf>,
    /// Target registry and optional repository prefix, e.g. harbor.example.com/team
    #[arg(long, value_name = "REGISTRY[/PREFIX]")]
    pub to: String,
    /// How source repositories are named under the target (as for mirror and push)
    #[arg(long, value_enum, default_value_t = ferry_core::target::Layout::Path)]
    pub layout: ferry_core::target::Layout,
    /// Extra scan rules (as for scan)
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    #[command(flatten)]
    pub render: RenderArgs,
    #[command(flatten)]
    pub chart_namespace: ChartNamespaceArg,
    /// Write the rewritten tree here (directories mirrored, files by name)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Rewrite the files themselves, each atomically, all or nothing
    #[arg(long)]
    pub in_place: bool,
    /// Print a unified diff and write nothing
    #[arg(long)]
    pub diff: bool,
    /// For one Helm chart: write a values override that points its images at the target,
    /// proven by rendering the chart with it
    #[arg(long, value_name = "FILE", conflicts_with_all = ["lock", "pull_secret"])]
    pub values_out: Option<PathBuf>,
    /// With --values-out: an image that may stay where it is (e.g. written in a template);
    /// repeatable
    #[arg(long, value_name = "REF", requires = "values_out")]
    pub allow_unrewritten: Vec<String>,
    /// Also write the source -> target mapping as JSON
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,
    /// Write name:tag@sha256:... (digests from the bundle's ferry.json, else from the target
    /// registry); with --values-out, in the chart's digest or tag values
    #[arg(long)]
    pub pin_digests: bool,
    /// Add imagePullSecrets: [{name: NAME}] to every pod spec that has none
    #[arg(long, value_name = "NAME")]
    pub pull_secret: Option<String>,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

pub use ferry_apply::DryRun;

/// `--dry-run` of commands that copy: only a plan, which nothing but ferry computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanOnly {
    /// Print the plan and copy nothing
    Client,
}

#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// Manifest files or directories
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Change nothing; `--dry-run` alone is `--dry-run=client`, as kubectl reads it
    #[arg(long, value_enum, value_name = "client|server", num_args = 0..=1, default_missing_value = "client")]
    pub dry_run: Option<DryRun>,
    /// Output format
    #[arg(long, short = 'o', value_enum, default_value_t = CopyOutput::Text)]
    pub output: CopyOutput,
    /// Docker-style credentials file for --pull-secret [default: as for mirror]
    #[arg(long, value_name = "FILE")]
    pub registry_config: Option<PathBuf>,
    #[command(flatten)]
    pub pull: PullSecretArgs,
    #[command(flatten)]
    pub render: RenderArgs,
    /// Record what is applied as release NAME, an upgrade of it if it exists (pruning
    /// what the files no longer have), as install does
    #[arg(long, value_name = "NAME")]
    pub release: Option<String>,
    /// With --release: keep what earlier revisions applied and these files do not have
    #[arg(long, requires = "release")]
    pub no_prune: bool,
    /// With --release: let prune delete CRDs too
    #[arg(long, requires = "release")]
    pub prune_crds: bool,
    /// With --release: revisions kept in the release's history
    #[arg(long, value_name = "N", default_value_t = 10, requires = "release", value_parser = clap::value_parser!(u32).range(1..))]
    pub history_max: u32,
}

#[derive(Debug, clap::Args)]
pub struct InstallArgs {
    /// The bundle
    pub bundle: PathBuf,
    /// Private registry and optional repository prefix, e.g. harbor.example.com/team
    #[arg(long, value_name = "REGISTRY[/PREFIX]")]
    pub to: String,
    /// How source repositories are named under the target
    #[arg(long, value_enum, default_value_t = ferry_core::target::Layout::Path)]
    pub layout: ferry_core::target::Layout,
    /// Blob transfers at once
    #[arg(long, short = 'j', default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// Where the rewritten manifests are written [default: BUNDLE-NAME.rewritten/ beside the bundle]
    #[arg(long, value_name = "DIR")]
    pub workdir: Option<PathBuf>,
    /// Keep tags only in the rewritten manifests (by default they also carry the bundle's digests)
    #[arg(long)]
    pub no_pin_digests: bool,
    /// Change nothing (client: plan every step; server: also ask the API server);
    /// `--dry-run` alone is `--dry-run=client`
    #[arg(long, value_enum, value_name = "client|server", num_args = 0..=1, default_missing_value = "client")]
    pub dry_run: Option<DryRun>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Output format
    #[arg(long, short = 'o', value_enum, default_value_t = CopyOutput::Text)]
    pub output: CopyOutput,
    #[command(flatten)]
    pub pull: PullSecretArgs,
    #[command(flatten)]
    pub charts: ChartValuesArgs,
    #[command(flatten)]
    pub release: ReleaseArgs,
    /// The vendor's public key (PEM): the bundle must be signed as a whole by one of the keys
    /// and every image carry a signature one of them verifies, or nothing is read for
    /// action, pushed or applied; repeatable
    #[arg(long, value_name = "FILE")]
    pub key: Vec<PathBuf>,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// The release an install makes or upgrades.
#[derive(Debug, Clone, clap::Args)]
pub struct ReleaseArgs {
    /// The release to install or upgrade [default: the bundle's product name]
    #[arg(long, value_name = "NAME")]
    pub release: Option<String>,
    /// Keep what earlier revisions applied and this one does not have (by default deleted)
    #[arg(long)]
    pub no_prune: bool,
    /// Let prune delete CRDs too (deleting a CRD deletes every resource of its kind)
    #[arg(long)]
    pub prune_crds: bool,
    /// Revisions kept in the release's history
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub history_max: u32,
}

/// Values for charts and the Helm that renders them (for `install`: on top of the values the
/// bundle was made with, and given, each chart of the bundle is rendered again).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ChartValuesArgs {
    /// Helm program that renders charts (`helm template`) [default: helm on PATH]
    #[arg(long, value_name = "BIN")]
    pub helm: Option<PathBuf>,
    /// Values file for charts, as helm's -f; repeatable, a later one wins
    #[arg(long = "values", short = 'f', value_name = "FILE")]
    pub values: Vec<PathBuf>,
    /// Set a chart value, as helm's --set; repeatable
    #[arg(long, value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Set a chart value as a string, as helm's --set-string; repeatable
    #[arg(long, value_name = "KEY=VALUE")]
    pub set_string: Vec<String>,
}

/// How `apply` and `install` reach the cluster and how long they wait.
#[derive(Debug, Clone, clap::Args)]
pub struct ClusterArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Take over fields another manager owns
    #[arg(long)]
    pub force_conflicts: bool,
    /// Create the namespace (-n, else the context's) when it does not exist, as helm's
    /// --create-namespace
    #[arg(long)]
    pub create_namespace: bool,
    /// Wait for Deployments, StatefulSets, DaemonSets and Jobs to be ready
    #[arg(long)]
    pub wait: bool,
    /// Longest the whole run waits (CRDs, webhook backends, --wait): 300, 90s, 5m, 1h30m
    #[arg(long, default_value = "5m", value_name = "DURATION", value_parser = duration)]
    pub timeout: std::time::Duration,
}

/// How a command reaches the cluster.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectArgs {
    /// Kubeconfig file [default: $KUBECONFIG, ~/.kube/config, then in-cluster]
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context
    #[arg(long)]
    pub context: Option<String>,
    /// Namespace for namespaced objects that name none, and of the release's record
    /// [default: the context's]
    #[arg(long, short = 'n')]
    pub namespace: Option<String>,
}

/// A duration as kubectl takes it: `90` (seconds), `90s`, `5m`, `1h30m`; `7d` for days.
pub fn duration(text: &str) -> Result<std::time::Duration, String> {
    let bad = || format!("{text:?} is not a duration (e.g. 300, 90s, 5m, 1h30m, 7d)");
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(std::time::Duration::from_secs(secs));
    }
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u64 = number.parse().map_err(|_| bad())?;
        number.clear();
        total += n * match c {
            'd' => 86400,
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return Err(bad()),
        };
    }
    if !number.is_empty() || text.is_empty() {
        return Err(bad());
    }
    Ok(std::time::Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_as_kubectl_writes_them() {
        let secs = |t: &str| super::duration(t).map(|d| d.as_secs());
        assert_eq!(secs("300"), Ok(300));
        assert_eq!(secs("90s"), Ok(90));
        assert_eq!(secs("5m"), Ok(300));
        assert_eq!(secs("1h30m"), Ok(5400));
        assert!(
            secs("5x").is_err() && secs("m").is_err() && secs("").is_err() && secs("5m3").is_err()
        );
    }
}
