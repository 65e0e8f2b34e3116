//! `ecr-janitor report` end to end: the report's code against moto over HTTP, its JSON
//! asserted whole, and its HTML page rendered by a real headless Chromium.
//!
//! moto sets `imageSizeInBytes` from the manifest's config size, so images get round
//! sizes; it has no archive storage class, so a proxy shows one image as ARCHIVED (as
//! `DescribeImages` would); and it stamps every push "now", so plans are made a month
//! later.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use janitor::config::{ConfigSource, JanitorConfig};
use janitor::report::prices::{AppliedPrices, PriceOverrides};
use janitor::report::{gather, html, Report};
use janitor::sweep::Sweeper;
use janitor_e2e::browser;
use janitor_e2e::proxy::{on_response, LoopbackProxy};
use janitor_e2e::{
    create_repository, fake_digest, put_image, workspace_root, Moto, DOCKER_MANIFEST, REGION,
};
use serde_json::{json, Value};

const MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const MIB: i64 = 1 << 20;
const GIB: i64 = 1 << 30;

/// A single-platform manifest whose image moto reports as `size` bytes; its digest
/// depends on `n` only.
fn sized_manifest(n: u64, size: i64) -> Value {
    json!({
        "schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "size": size, "digest": fake_digest(n)},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": 100, "digest": fake_digest(1_000_000 + n)}]
    })
}

/// `app`: dev builds expire after 14 days, untagged builds move to archive after 7.
/// `web`: enforce, keep one untagged build, at most one action per run.
/// `legacy`: its own ECR lifecycle policy, which it does not have.
fn configuration() -> JanitorConfig {
    let document = json!({
        "protectedTags": ["dev-keep*"],
        "sweeper": {"repositories": [
            {"include": ["app"], "policy": {"rules": [
                {"rulePriority": 10, "selection": {"tagStatus": "tagged", "tagPrefixList": ["dev"],
                    "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 14},
                 "action": {"type": "expire"}},
                {"rulePriority": 20, "selection": {"tagStatus": "untagged",
                    "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 7},
                 "action": {"type": "transition", "targetStorageClass": "archive"}}]}},
            {"include": ["web"], "mode": "enforce", "safetyCap": {"maxImages": 1},
             "policy": {"rules": [
                {"rulePriority": 1, "selection": {"tagStatus": "untagged",
                    "countType": "imageCountMoreThan", "countNumber": 1},
                 "action": {"type": "expire"}}]}},
            {"include": ["legacy"], "policy": "native"}
        ]}
    });
    JanitorConfig::from_json(&document.to_string(), ConfigSource::Inline)
        .expect("valid configuration")
}

/// A registry seeded through moto, read through a proxy that shows the images in
/// `archived` as ARCHIVED.
struct Seeded {
    _moto: Moto,
    _proxy: LoopbackProxy,
    sweeper: Sweeper,
    digest: BTreeMap<&'static str, String>,
}

async fn seed() -> Seeded {
    let moto = Moto::start();
    let archived: Arc<Mutex<HashSet<String>>> = Arc::default();
    let shown = archived.clone();
    let proxy = LoopbackProxy::start(
        moto.port(),
        on_response(move |request, response, _| {
            if request.operation() != Some("DescribeImages") {
                return response;
            }
            let archived = shown.lock().expect("lock");
            let mut body = response.json();
            for detail in body["imageDetails"].as_array_mut().into_iter().flatten() {
                if detail["imageDigest"]
                    .as_str()
                    .is_some_and(|digest| archived.contains(digest))
                {
                    detail["imageStatus"] = json!("ARCHIVED");
                    detail["lastArchivedAt"] = detail["imagePushedAt"].clone();
                }
            }
            response.with_json(&body)
        }),
    );
    let ecr = aws_sdk_ecr::Client::new(&moto.sdk_config().await);
    for name in ["app", "web", "legacy", "other"] {
        create_repository(&ecr, name).await;
    }
    let mut digest = BTreeMap::new();
    let images: [(&str, &str, Option<&str>, i64); 10] = [
        ("app", "v1", Some("v1"), GIB),
        ("app", "dev-1", Some("dev-1"), 2 * GIB),
        ("app", "dev-keep", Some("dev-keep"), 2 * GIB),
        ("app", "c1", None, GIB / 2),
        ("app", "c2", None, GIB / 2),
        ("app", "u1", None, GIB),
        ("app", "v0", Some("v0"), 4 * GIB),
        ("web", "w1", None, 256 * MIB),
        ("web", "w2", None, 256 * MIB),
        ("web", "w3", None, 256 * MIB),
    ];
    for (n, (repository, name, tag, size)) in images.into_iter().enumerate() {
        let pushed = put_image(&ecr, repository, tag, &sized_manifest(n as u64, size), None).await;
        digest.insert(name, pushed);
    }
    // A cosign signature of dev-1, tagged sha256-<hex>.sig.
    let signature_tag = format!("{}.sig", digest["dev-1"].replace(':', "-"));
    let signature = put_image(
        &ecr,
        "app",
        Some(&signature_tag),
        &sized_manifest(50, MIB),
        None,
    )
    .await;
    digest.insert("signature", signature);
    let children: Vec<Value> = ["c1", "c2"]
        .iter()
        .map(|child| {
            json!({"mediaType": DOCKER_MANIFEST, "size": 500, "digest": digest[child],
                   "platform": {"architecture": "amd64", "os": "linux"}})
        })
        .collect();
    let index = json!({"schemaVersion": 2, "mediaType": MANIFEST_LIST, "manifests": children});
    let multi = put_image(&ecr, "app", Some("multi"), &index, Some(fake_digest(900))).await;
    digest.insert("multi", multi);
    put_image(&ecr, "other", Some("x"), &sized_manifest(60, GIB), None).await;
    archived.lock().expect("lock").insert(digest["v0"].clone());
    let sweeper = Sweeper::from_sdk_config(&proxy.sdk_config().await, configuration(), None);
    Seeded {
        _moto: moto,
        _proxy: proxy,
        sweeper,
        digest,
    }
}

/// The report a month after the pushes, at the published prices, and the progress
/// callbacks it made.
async fn report(seeded: &Seeded) -> (Report, Vec<(usize, usize, String)>, DateTime<Utc>) {
    let as_of = Utc::now() + TimeDelta::days(30);
    let selected = gather::select_configured(&seeded.sweeper)
        .await
        .expect("repositories listed");
    let prices =
        AppliedPrices::resolve(REGION, None, PriceOverrides::default()).expect("valid prices");
    let mut progress = Vec::new();
    let in_use = seeded.sweeper.images_in_use(Utc::now()).await;
    let report = gather::report(
        &seeded.sweeper,
        &selected,
        in_use,
        as_of,
        prices,
        |done, total, name| progress.push((done, total, name.to_owned())),
    )
    .await;
    (report, progress, as_of)
}

fn amount(images: usize, bytes: i64) -> Value {
    json!({"images": images, "bytes": bytes})
}

fn none() -> Value {
    amount(0, 0)
}

#[tokio::test]
async fn the_report_counts_prices_and_explains_exactly_what_a_sweep_would_do() {
    let seeded = seed().await;
    let (report, progress, as_of) = report(&seeded).await;
    let digest = &seeded.digest;

    // Planning never acts: every image is still there.
    let ecr = &seeded.sweeper.ecr;
    for repository in ["app", "web"] {
        let listed = ecr
            .list_images()
            .repository_name(repository)
            .send()
            .await
            .expect("list images");
        let expected = if repository == "app" { 9 } else { 3 };
        assert_eq!(listed.image_ids().len(), expected, "{repository}");
    }
    let mut progressed: Vec<String> = progress.iter().map(|(_, _, name)| name.clone()).collect();
    progressed.sort();
    assert_eq!(progressed, ["app", "legacy", "web"]);
    assert_eq!(
        progress
            .iter()
            .map(|(done, total, _)| (*done, *total))
            .collect::<Vec<_>>(),
        [(1, 3), (2, 3), (3, 3)]
    );

    let app_standard_now = 7 * GIB + MIB;
    let expected = json!({
        "schemaVersion": 1,
        "asOf": as_of,
        "prices": {
            "region": "us-east-1",
            "currency": "USD",
            "standard": [{"perGbMonth": 0.1}],
            "archive": [{"upToGb": 153600.0, "perGbMonth": 0.1}, {"perGbMonth": 0.07}],
            "source": "Amazon ECR pricing, https://aws.amazon.com/ecr/pricing/ (as published in March 2026)"
        },
        "inUseUnknown": null,
        "inUseSourcesOff": report.in_use_sources_off,
        "totals": {
            "repositories": 3,
            "repositoriesNotPlanned": 1,
            "images": amount(12, 11 * GIB + MIB + 768 * MIB),
            "byKind": {
                "image": amount(7, 6 * GIB + 768 * MIB),
                "index": amount(1, 0),
                "indexChild": amount(2, GIB),
                "referrer": amount(1, MIB),
                "archived": amount(1, 4 * GIB),
            },
            "expire": amount(4, 2 * GIB + MIB + 512 * MIB),
            "transition": amount(1, GIB),
            "protected": amount(1, 2 * GIB),
            "protectedBy": {"inUse": none(), "protectedTag": amount(1, 2 * GIB),
                            "minimumAge": none(), "indexUnreadable": none()},
            "bytesNow": {"standard": app_standard_now + 768 * MIB, "archive": 4 * GIB},
            "bytesAfter": {"standard": 4 * GIB + 256 * MIB, "archive": 5 * GIB},
            "costPerMonth": {"now": 1.175098, "after": 0.925, "savings": 0.250098}
        },
        "repositories": [
            {
                "repositoryName": "app",
                "policy": "configured",
                "mode": "dry-run",
                "skipped": null,
                "error": null,
                "capTripped": null,
                "images": amount(9, 11 * GIB + MIB),
                "byKind": {
                    "image": amount(4, 6 * GIB),
                    "index": amount(1, 0),
                    "indexChild": amount(2, GIB),
                    "referrer": amount(1, MIB),
                    "archived": amount(1, 4 * GIB),
                },
                "expire": amount(2, 2 * GIB + MIB),
                "transition": amount(1, GIB),
                "protected": amount(1, 2 * GIB),
                "protectedBy": {"inUse": none(), "protectedTag": amount(1, 2 * GIB),
                                "minimumAge": none(), "indexUnreadable": none()},
                "bytesNow": {"standard": app_standard_now, "archive": 4 * GIB},
                "bytesAfter": {"standard": 4 * GIB, "archive": 5 * GIB},
                "costPerMonth": {"now": 1.100098, "after": 0.9, "savings": 0.200098},
                "byRule": [
                    {"rulePriority": 10, "action": "expire", "images": 2, "bytes": 2 * GIB + MIB},
                    {"rulePriority": 20, "action": "transition", "images": 1, "bytes": GIB}
                ],
                "protectedImages": [{
                    "digest": digest["dev-keep"], "tags": ["dev-keep"], "kind": "protectedTag",
                    "reason": "protected tag dev-keep", "sizeBytes": 2 * GIB
                }]
            },
            {
                "repositoryName": "legacy",
                "policy": "native",
                "mode": "dry-run",
                "skipped": "the repository has no lifecycle policy",
                "error": null,
                "capTripped": null,
                "images": none(),
                "byKind": {"image": none(), "index": none(), "indexChild": none(),
                           "referrer": none(), "archived": none()},
                "expire": none(),
                "transition": none(),
                "protected": none(),
                "protectedBy": {"inUse": none(), "protectedTag": none(),
                                "minimumAge": none(), "indexUnreadable": none()},
                "bytesNow": {"standard": 0, "archive": 0},
                "bytesAfter": {"standard": 0, "archive": 0},
                "costPerMonth": {"now": 0.0, "after": 0.0, "savings": 0.0},
                "byRule": [],
                "protectedImages": []
            },
            {
                "repositoryName": "web",
                "policy": "configured",
                "mode": "enforce",
                "skipped": null,
                "error": null,
                "capTripped": "2 images would be acted on, more than safetyCap.maxImages = 1",
                "images": amount(3, 768 * MIB),
                "byKind": {"image": amount(3, 768 * MIB), "index": none(), "indexChild": none(),
                           "referrer": none(), "archived": none()},
                "expire": amount(2, 512 * MIB),
                "transition": none(),
                "protected": none(),
                "protectedBy": {"inUse": none(), "protectedTag": none(),
                                "minimumAge": none(), "indexUnreadable": none()},
                "bytesNow": {"standard": 768 * MIB, "archive": 0},
                "bytesAfter": {"standard": 256 * MIB, "archive": 0},
                "costPerMonth": {"now": 0.075, "after": 0.025, "savings": 0.05},
                "byRule": [{"rulePriority": 1, "action": "expire", "images": 2, "bytes": 512 * MIB}],
                "protectedImages": []
            }
        ]
    });
    let actual = serde_json::to_value(&report).expect("report JSON");
    assert_eq!(actual, expected, "{actual:#}");
}

/// The chart rows of the SVG element `id` in `dom`, each as its `data-*` attributes.
fn chart_rows(dom: &str, id: &str) -> Vec<BTreeMap<String, String>> {
    let start = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no chart {id}"));
    let chart = &dom[start..start + dom[start..].find("</svg>").expect("the chart ends")];
    let attribute = regex::Regex::new(r#"data-([a-z-]+)="([^"]*)""#).expect("pattern");
    chart
        .split("<g class=\"row\"")
        .skip(1)
        .map(|row| {
            let tag = &row[..row.find('>').expect("the row's tag ends")];
            attribute
                .captures_iter(tag)
                .map(|found| (found[1].to_owned(), found[2].to_owned()))
                .collect()
        })
        .collect()
}

fn number(text: &str) -> f64 {
    text.parse()
        .unwrap_or_else(|_| panic!("not a number: {text}"))
}

#[tokio::test]
async fn the_html_page_renders_offline_in_chromium_and_its_charts_carry_the_json_numbers() {
    let chromium = browser::chromium();
    assert!(chromium.is_file());
    let seeded = seed().await;
    let (report, _, _) = report(&seeded).await;
    let page = html::render(&report);
    // Self-contained: nothing to load, from the network or from disk.
    for external in ["src=", "<link", "@import", "url("] {
        assert!(!page.contains(external), "the page refers to {external}");
    }
    let artifacts = workspace_root().join("target/test-artifacts");
    std::fs::create_dir_all(&artifacts).expect("artifacts folder");
    let path = artifacts.join("report.html");
    std::fs::write(&path, &page).expect("page written");

    let rendered = browser::render(&path);
    assert_eq!(rendered.console, Vec::<String>::new(), "console output");
    // The script ran: it marks the tables it makes sortable.
    assert!(
        rendered.dom.contains("class=\"sortable sortable-ready\""),
        "the page's script did not run"
    );
    // The JSON the page embeds is the report's.
    let json_start = rendered
        .dom
        .find("id=\"report-data\">")
        .expect("embedded JSON")
        + "id=\"report-data\">".len();
    let json_end = json_start + rendered.dom[json_start..].find("</script>").expect("end");
    let embedded: Value =
        serde_json::from_str(&rendered.dom[json_start..json_end]).expect("embedded JSON parses");
    assert_eq!(embedded, serde_json::to_value(&report).expect("JSON"));

    // Bytes per repository: the repositories with images, largest first.
    let repositories: BTreeMap<&str, &Value> = embedded["repositories"]
        .as_array()
        .expect("repositories")
        .iter()
        .map(|repository| {
            (
                repository["repositoryName"].as_str().expect("name"),
                repository,
            )
        })
        .collect();
    let rows = chart_rows(&rendered.dom, "chart-repositories");
    let charted: Vec<&str> = rows.iter().map(|row| row["repository"].as_str()).collect();
    assert_eq!(charted, ["app", "web"]);
    for row in &rows {
        let repository = repositories[row["repository"].as_str()];
        let total = |class: &str| {
            repository[class]["standard"].as_i64().expect("bytes")
                + repository[class]["archive"].as_i64().expect("bytes")
        };
        assert_eq!(number(&row["bytes-now"]), total("bytesNow") as f64);
        assert_eq!(number(&row["bytes-after"]), total("bytesAfter") as f64);
    }
    // Bytes by kind: every kind, as the totals count them.
    let rows = chart_rows(&rendered.dom, "chart-kinds");
    let kinds: Vec<&str> = rows.iter().map(|row| row["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        ["image", "index", "indexChild", "referrer", "archived"]
    );
    for row in &rows {
        let kind = &embedded["totals"]["byKind"][row["kind"].as_str()];
        assert_eq!(
            number(&row["bytes"]),
            kind["bytes"].as_f64().expect("bytes")
        );
        assert_eq!(
            number(&row["images"]),
            kind["images"].as_f64().expect("images")
        );
    }
    // Top savings: most first, as each repository's costPerMonth says.
    let rows = chart_rows(&rendered.dom, "chart-savings");
    let charted: Vec<&str> = rows.iter().map(|row| row["repository"].as_str()).collect();
    assert_eq!(charted, ["app", "web"]);
    for row in &rows {
        let repository = repositories[row["repository"].as_str()];
        assert_eq!(
            number(&row["savings"]),
            repository["costPerMonth"]["savings"]
                .as_f64()
                .expect("savings")
        );
    }

    let screenshot = artifacts.join("report.png");
    let _ = std::fs::remove_file(&screenshot);
    browser::screenshot(&path, &screenshot, 1280, 2200);
}

#[test]
fn the_browser_check_sees_a_page_that_fails() {
    let folder = tempfile::tempdir().expect("folder");
    let page = folder.path().join("broken.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><body><p id=\"p\">before</p><script>\
         document.getElementById('p').textContent = 'after'; undefinedFunction();</script></body></html>",
    )
    .expect("page");
    let rendered = browser::render(&page);
    assert!(
        rendered.dom.contains("<p id=\"p\">after</p>"),
        "{}",
        rendered.dom
    );
    assert_eq!(rendered.console.len(), 1, "{:?}", rendered.console);
    assert!(
        rendered.console[0].contains("Uncaught ReferenceError: undefinedFunction is not defined"),
        "{:?}",
        rendered.console
    );
}
