//! The built-in rules: their stable ids (JSON `rule`) and the reasoning `--why` prints.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    ContainerImage,
    EnvImage,
    EnvReference,
    EnvMap,
    ConfigMapImage,
    ArgImageFlag,
    ArgReference,
    RelatedImages,
    ImageField,
    ImageMapEntry,
    SplitImage,
    ImagePlusVersion,
    VersionImage,
    KustomizeImages,
    ChartAnnotation,
    User,
}

impl Rule {
    pub fn id(self) -> &'static str {
        match self {
            Rule::ContainerImage => "container-image",
            Rule::EnvImage => "env-image",
            Rule::EnvReference => "env-reference",
            Rule::EnvMap => "env-map",
            Rule::ConfigMapImage => "configmap-image",
            Rule::ArgImageFlag => "arg-image-flag",
            Rule::ArgReference => "arg-reference",
            Rule::RelatedImages => "related-images",
            Rule::ImageField => "image-field",
            Rule::ImageMapEntry => "image-map-entry",
            Rule::SplitImage => "split-image",
            Rule::ImagePlusVersion => "image-plus-version",
            Rule::VersionImage => "version-image",
            Rule::KustomizeImages => "kustomize-images",
            Rule::ChartAnnotation => "chart-annotation",
            Rule::User => "user",
        }
    }

    pub fn why(self) -> &'static str {
        match self {
            Rule::ContainerImage => {
                "`image` of a container in a pod spec (containers, initContainers, ephemeralContainers): the kubelet pulls it"
            }
            Rule::EnvImage => {
                "env var named RELATED_IMAGE_* or *_IMAGE* whose value is a reference: the operator starts pods with it"
            }
            Rule::EnvReference => {
                "env var whose value is a fully qualified reference (registry host, repository, tag or digest)"
            }
            Rule::EnvMap => {
                "one `KEY=IMAGE` line of an env var that maps versions to images (as Strimzi's STRIMZI_KAFKA_IMAGES)"
            }
            Rule::ConfigMapImage => {
                "ConfigMap key named RELATED_IMAGE_* or *_IMAGE* whose value is a reference: operators load such ConfigMaps into their environment (envFrom) or read them as configuration, and start pods with the image"
            }
            Rule::ArgImageFlag => {
                "container arg `--flag=IMAGE` or `--flag IMAGE` whose flag names an image: the operator runs it"
            }
            Rule::ArgReference => {
                "container arg whose value is a fully qualified reference (registry host, repository, tag or digest)"
            }
            Rule::RelatedImages => {
                "OLM ClusterServiceVersion spec.relatedImages: every image the operator needs, listed for disconnected installs"
            }
            Rule::ImageField => {
                "string field named `image` or ending in `Image` (custom resource, values file, annotation) holding a reference"
            }
            Rule::ImageMapEntry => {
                "reference inside a mapping under an image field (`image: {application: ..., init: ...}`)"
            }
            Rule::SplitImage => {
                "object with repository (+ registry, name) and tag/version/digest fields that the operator or chart joins into one reference"
            }
            Rule::ImagePlusVersion => {
                "untagged `image`/`baseImage` field with a sibling `version`/`tag`: the operator appends the version"
            }
            Rule::VersionImage => {
                "a `version`/`*Version` field holding a whole image reference (a path with a tag or digest): some operators take an image where a version usually goes"
            }
            Rule::KustomizeImages => {
                "kustomization `images:` entry: kustomize replaces `name` with `newName:newTag`/`digest`, the image pods pull"
            }
            Rule::ChartAnnotation => {
                "Chart.yaml annotation artifacthub.io/images: the chart's authors list the images it runs"
            }
            Rule::User => "matched a user rule (--rules)",
        }
    }
}
