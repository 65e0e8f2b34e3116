//! scan-forwarder end to end against moto server: events in, findings in Security Hub
//! (read back with `GetFindings`) and events on the janitor bus (read back through an
//! SQS target), and every ASFF request validated against Security Hub's API model.

use std::process::Command;
use std::sync::{Arc, Mutex};

use aws_sdk_securityhub::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_securityhub::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_securityhub::error::BoxError;
use aws_sdk_securityhub::types::{AwsSecurityFinding, RecordState, SeverityLabel};
use chrono::{DateTime, Utc};
use janitor::aws::bus::EventBus;
use janitor::config::{ConfigSource, JanitorConfig};
use janitor::findings::{Caller, ForwardReport, ScanForwarder};
use janitor_e2e::{
    create_repository, put_image, run_on_large_stack, sample_event, workspace_root, BusCapture,
    Moto, ACCOUNT, DOCKER_MANIFEST, REGION,
};
use serde_json::{json, Value};

const BUS: &str = "janitor";
const INSPECTOR_SAMPLE: &str = "inspector2-finding-ecr-package-vulnerability.json";
const BASIC_SAMPLE: &str = "ecr-image-scan-basic-complete.json";

/// Records the body of every request the Security Hub client sends, exactly as the
/// SDK serialised it.
#[derive(Debug, Clone, Default)]
struct RequestRecorder {
    bodies: Arc<Mutex<Vec<Value>>>,
}

impl Intercept for RequestRecorder {
    fn name(&self) -> &'static str {
        "RequestRecorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(bytes) = context.request().body().bytes() {
            let body: Value = serde_json::from_slice(bytes)?;
            if body.get("Findings").is_some() {
                self.bodies.lock().map_err(|e| e.to_string())?.push(body);
            }
        }
        Ok(())
    }
}

struct Harness {
    _moto: Moto,
    sdk: aws_config::SdkConfig,
    ecr: aws_sdk_ecr::Client,
    security_hub: aws_sdk_securityhub::Client,
    bus: BusCapture,
    recorder: RequestRecorder,
}

impl Harness {
    /// moto with the janitor bus captured.
    async fn start() -> Harness {
        let moto = Moto::start();
        let sdk = moto.sdk_config().await;
        let bus = BusCapture::start(&sdk, BUS).await;
        let recorder = RequestRecorder::default();
        let security_hub = aws_sdk_securityhub::Client::from_conf(
            aws_sdk_securityhub::config::Builder::from(&sdk)
                .interceptor(recorder.clone())
                .build(),
        );
        Harness {
            ecr: aws_sdk_ecr::Client::new(&sdk),
            security_hub,
            bus,
            recorder,
            sdk,
            _moto: moto,
        }
    }

    fn forwarder(&self, scan_config: Value) -> ScanForwarder {
        let config = JanitorConfig::from_json(
            &json!({ "scan": scan_config }).to_string(),
            ConfigSource::Inline,
        )
        .expect("valid configuration");
        ScanForwarder::new(
            config.scan,
            self.ecr.clone(),
            self.security_hub.clone(),
            EventBus::new(aws_sdk_eventbridge::Client::new(&self.sdk), BUS),
        )
    }

    async fn findings_in_security_hub(&self) -> Vec<AwsSecurityFinding> {
        // moto ignores Filters and returns everything in one page.
        self.security_hub
            .get_findings()
            .send()
            .await
            .expect("get findings")
            .findings()
            .to_vec()
    }

    /// Every event delivered to the queue within a short wait, as `detail` objects.
    async fn bus_events(&self, expected: usize) -> Vec<Value> {
        self.bus
            .details("Image Vulnerability Finding", expected)
            .await
    }

    /// Pushes an image to a new repository and starts its (basic) scan.
    async fn scanned_image(&self, repository: &str) -> String {
        create_repository(&self.ecr, repository).await;
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7023,
                       "digest": "sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7"},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 32654,
                        "digest": "sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f"}]
        });
        let digest = put_image(&self.ecr, repository, Some("v1.0.0"), &manifest, None).await;
        self.ecr
            .start_image_scan()
            .repository_name(repository)
            .image_id(
                aws_sdk_ecr::types::ImageIdentifier::builder()
                    .image_digest(&digest)
                    .build(),
            )
            .send()
            .await
            .expect("start scan");
        digest
    }

    fn recorded_requests(&self) -> Vec<Value> {
        self.recorder.bodies.lock().expect("recorder").clone()
    }
}

fn caller() -> Caller {
    Caller {
        account_id: ACCOUNT.to_owned(),
        region: REGION.to_owned(),
    }
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-06-01T00:00:00Z")
        .expect("valid")
        .with_timezone(&Utc)
}

/// The basic-scan sample, about `repository@digest`.
fn basic_scan_event(repository: &str, digest: &str) -> Value {
    let mut event = sample_event(BASIC_SAMPLE);
    event["detail"]["repository-name"] = json!(repository);
    event["detail"]["image-digest"] = json!(digest);
    event["detail"]["image-tags"] = json!(["v1.0.0"]);
    event["resources"] = json!([format!(
        "arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{repository}"
    )]);
    event
}

/// The Inspector sample, moved to moto's Region (Security Hub accepts findings only
/// for the caller's Region).
fn inspector_event() -> Value {
    let mut event = sample_event(INSPECTOR_SAMPLE);
    event["region"] = json!(REGION);
    event
}

fn scan_finding(name: &str, severity: &str, package: &str, version: &str, cvss3: &str) -> Value {
    json!({
        "name": name,
        "description": format!("{name} in {package}"),
        "uri": format!("https://nvd.nist.gov/vuln/detail/{name}"),
        "severity": severity,
        "attributes": [
            {"key": "package_name", "value": package},
            {"key": "package_version", "value": version},
            {"key": "CVSS3_SCORE", "value": cvss3},
            {"key": "CVSS3_VECTOR", "value": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}
        ]
    })
}

/// Seeds `DescribeImageScanFindings` for one image; `completed_at` in epoch seconds.
fn seed_scan_results(
    moto: &Moto,
    repository: &str,
    digest: &str,
    completed_at: i64,
    findings: Value,
) {
    moto.moto_api_post(
        "/moto-api/static/ecr/scan-finding-results",
        &json!({
            "region": REGION,
            "results": [{
                "registryId": ACCOUNT,
                "repositoryName": repository,
                "imageId": {"imageDigest": digest},
                "imageScanStatus": {"status": "COMPLETE", "description": "The scan was completed successfully."},
                "imageScanFindings": {
                    "imageScanCompletedAt": completed_at,
                    "vulnerabilitySourceUpdatedAt": completed_at,
                    "findings": findings,
                    "findingSeverityCounts": {}
                }
            }]
        }),
    );
}

fn image_arn(repository: &str, digest: &str) -> String {
    format!("arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{repository}/{digest}")
}

/// Runs tests/asff/validate_asff.py on the requests; returns its exit success and output.
fn validate_with_botocore(requests: &[Value]) -> (bool, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("requests.json");
    std::fs::write(&path, serde_json::to_string(requests).expect("json")).expect("write");
    let python = workspace_root().join(".venv/bin/python");
    let output = Command::new(python)
        .arg(workspace_root().join("tests/asff/validate_asff.py"))
        .arg(&path)
        .output()
        .expect("run the project venv's python");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn basic_scan_findings_are_fetched_filtered_imported_and_published_once() {
    run_on_large_stack(|| async {
        let harness = Harness::start().await;
        let repository = "team-a/api";
        let digest = harness.scanned_image(repository).await;
        seed_scan_results(
            &harness._moto,
            repository,
            &digest,
            1_780_000_000,
            json!([
                scan_finding("CVE-2024-0001", "CRITICAL", "openssl", "3.0.1", "9.8"),
                scan_finding("CVE-2024-0002", "LOW", "zlib", "1.2.11", "3.1"),
                scan_finding("CVE-2024-0003", "HIGH", "curl", "7.79.0", "7.5"),
            ]),
        );
        let forwarder = harness.forwarder(json!({
            "minimumSeverity": "MEDIUM",
            "suppressions": [{"vulnerabilityId": "CVE-2024-0003", "repositories": ["team-a/*"],
                              "expires": "2027-01-31", "reason": "not reachable; SEC-42"}]
        }));
        let event = basic_scan_event(repository, &digest);

        let report = forwarder
            .handle(&event, &caller(), now())
            .await
            .expect("forwarded");
        assert_eq!(
            report,
            ForwardReport {
                event: "basic-scan".into(),
                findings: 3,
                below_threshold: 1,
                suppressed: 1,
                forwarded: 1,
                published: 1,
                imported: 1,
                ..ForwardReport::default()
            }
        );

        let findings = harness.findings_in_security_hub().await;
        assert_eq!(findings.len(), 1);
        let finding = &findings[0];
        let arn = image_arn(repository, &digest);
        let expected_id = {
            use sha2::Digest;
            let key = format!("{arn}\nCVE-2024-0001\nopenssl");
            format!(
                "ecr-janitor/scan/{:x}",
                sha2::Sha256::digest(key.as_bytes())
            )
        };
        assert_eq!(finding.id(), Some(expected_id.as_str()));
        assert_eq!(finding.schema_version(), Some("2018-10-08"));
        assert_eq!(
            finding.product_arn(),
            Some("arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default")
        );
        assert_eq!(finding.generator_id(), Some("ecr-janitor/basic-scan"));
        assert_eq!(finding.aws_account_id(), Some(ACCOUNT));
        assert_eq!(finding.title(), Some("CVE-2024-0001 - openssl"));
        assert_eq!(finding.description(), Some("CVE-2024-0001 in openssl"));
        assert_eq!(finding.created_at(), Some("2026-05-28T20:26:40.000Z"));
        assert_eq!(finding.updated_at(), Some("2026-05-28T20:26:40.000Z"));
        assert_eq!(
            finding.severity().and_then(|s| s.label()),
            Some(&SeverityLabel::Critical)
        );
        assert_eq!(finding.record_state(), Some(&RecordState::Active));
        let resource = &finding.resources()[0];
        assert_eq!(resource.r#type(), Some("AwsEcrContainerImage"));
        assert_eq!(resource.id(), Some(arn.as_str()));
        let image = resource
            .details()
            .and_then(|d| d.aws_ecr_container_image())
            .expect("image details");
        assert_eq!(image.repository_name(), Some(repository));
        assert_eq!(image.image_digest(), Some(digest.as_str()));
        assert_eq!(image.image_tags(), ["v1.0.0"]);
        let vulnerability = &finding.vulnerabilities()[0];
        assert_eq!(vulnerability.id(), Some("CVE-2024-0001"));
        assert_eq!(
            vulnerability.vulnerable_packages()[0].name(),
            Some("openssl")
        );
        assert_eq!(
            vulnerability.vulnerable_packages()[0].version(),
            Some("3.0.1")
        );
        assert_eq!(vulnerability.cvss()[0].base_score(), Some(9.8));

        let events = harness.bus_events(1).await;
        assert_eq!(
            events,
            vec![json!({
                "severity": "CRITICAL",
                "repository": repository,
                "vulnerabilityId": "CVE-2024-0001",
                "fixAvailable": "UNKNOWN",
                "status": "ACTIVE",
                "source": "basic",
                "findingId": expected_id,
                "account": ACCOUNT,
                "region": REGION,
                "imageDigest": digest,
                "imageTags": ["v1.0.0"],
                "packages": [{"name": "openssl", "version": "3.0.1"}],
                "cvssScore": 9.8,
                "title": "CVE-2024-0001 - openssl",
                "firstObservedAt": "2026-05-28T20:26:40.000Z",
                "lastObservedAt": "2026-05-28T20:26:40.000Z",
                "sourceUrl": "https://nvd.nist.gov/vuln/detail/CVE-2024-0001"
            })]
        );

        // Re-delivery: same Id and UpdatedAt, so Security Hub still holds one finding.
        let again = forwarder
            .handle(&event, &caller(), now())
            .await
            .expect("forwarded");
        assert_eq!(again.imported, 1);
        assert_eq!(harness.findings_in_security_hub().await.len(), 1);
        let requests = harness.recorded_requests();
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[0], requests[1], "re-delivery sends identical data");
    });
}

#[test]
fn enhanced_findings_go_to_the_bus_and_to_security_hub_only_when_switched_on() {
    run_on_large_stack(|| async {
        let harness = Harness::start().await;
        let event = inspector_event();
        let repository = "amazon/amazon-ecs-sample";
        let digest = "sha256:36c7b282abd0186e01419f2e58743e1bf635808231049bbc9d77e5EXAMPLE";

        let native = harness.forwarder(json!({}));
        let report = native.handle(&event, &caller(), now()).await.expect("ok");
        assert_eq!(
            (report.forwarded, report.published, report.imported),
            (1, 1, 0)
        );
        assert!(harness.findings_in_security_hub().await.is_empty());
        assert!(harness.recorded_requests().is_empty());
        let events = harness.bus_events(1).await;
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["severity"], "MEDIUM");
        assert_eq!(events[0]["repository"], repository);
        assert_eq!(events[0]["vulnerabilityId"], "CVE-2019-17498");
        assert_eq!(events[0]["fixAvailable"], "NO");
        assert_eq!(events[0]["source"], "enhanced");
        assert_eq!(events[0]["cvssScore"], 6.5);
        assert_eq!(events[0]["firstObservedAt"], "2021-12-03T18:02:30.000Z");

        let importing = harness.forwarder(json!({"importEnhancedFindings": true}));
        for _ in 0..2 {
            let report = importing
                .handle(&event, &caller(), now())
                .await
                .expect("ok");
            assert_eq!(report.imported, 1);
        }
        let findings = harness.findings_in_security_hub().await;
        assert_eq!(findings.len(), 1, "re-delivery does not duplicate");
        let finding = &findings[0];
        assert_eq!(finding.generator_id(), Some("ecr-janitor/enhanced-scan"));
        assert_eq!(finding.updated_at(), Some("2021-12-03T18:02:30.000Z"));
        assert_eq!(
            finding.resources()[0].id(),
            Some(image_arn(repository, digest).as_str())
        );
        let image = finding.resources()[0]
            .details()
            .and_then(|d| d.aws_ecr_container_image())
            .expect("image details");
        assert_eq!(image.architecture(), Some("amd64"));
        assert_eq!(image.image_published_at(), Some("2021-12-03T18:02:13.000Z"));
        assert_eq!(finding.vulnerabilities()[0].cvss().len(), 3);

        // Inspector closes the finding: same Id, later UpdatedAt, archived.
        let mut closed = event.clone();
        closed["detail"]["status"] = json!("CLOSED");
        closed["detail"]["updatedAt"] = json!("Dec 5, 2021, 9:15:00 AM");
        importing
            .handle(&closed, &caller(), now())
            .await
            .expect("ok");
        let findings = harness.findings_in_security_hub().await;
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].record_state(), Some(&RecordState::Archived));
        assert_eq!(findings[0].updated_at(), Some("2021-12-05T09:15:00.000Z"));

        let disabled =
            harness.forwarder(json!({"securityHub": false, "importEnhancedFindings": true}));
        let report = disabled.handle(&event, &caller(), now()).await.expect("ok");
        assert_eq!((report.published, report.imported), (1, 0));
    });
}

#[test]
fn moto_default_scan_finding_is_forwarded() {
    run_on_large_stack(|| async {
        let harness = Harness::start().await;
        let digest = harness.scanned_image("plain").await;
        let report = harness
            .forwarder(json!({}))
            .handle(&basic_scan_event("plain", &digest), &caller(), now())
            .await
            .expect("forwarded");
        assert_eq!(
            (report.findings, report.imported, report.published),
            (1, 1, 1)
        );
        let findings = harness.findings_in_security_hub().await;
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].title(), Some("CVE-9999-9999 - moto_fake"));
        assert_eq!(
            findings[0].severity().and_then(|s| s.label()),
            Some(&SeverityLabel::High)
        );
        let events = harness.bus_events(1).await;
        assert_eq!(events[0]["vulnerabilityId"], "CVE-9999-9999");
        assert_eq!(
            events[0]["packages"],
            json!([{"name": "moto_fake", "version": "9.9.9"}])
        );
    });
}

#[test]
fn events_without_findings_are_acknowledged() {
    run_on_large_stack(|| async {
        let harness = Harness::start().await;
        let forwarder = harness.forwarder(json!({}));

        let summary = forwarder
            .handle(
                &sample_event("inspector2-scan-ecr-initial-scan-complete.json"),
                &caller(),
                now(),
            )
            .await
            .expect("acknowledged");
        assert_eq!(summary.event, "scan-summary");
        let counts = summary
            .scan_summary
            .expect("summary")
            .finding_severity_counts;
        assert_eq!(counts.get("TOTAL"), Some(&158));

        let scheduled = forwarder
            .handle(
                &sample_event("eventbridge-scheduled-event-rule.json"),
                &caller(),
                now(),
            )
            .await
            .expect("acknowledged");
        assert_eq!(scheduled.event, "ignored");
        assert_eq!(
            scheduled.skipped.as_deref(),
            Some("unsupported event aws.events / Scheduled Event")
        );

        let garbage = forwarder
            .handle(&json!({"sweep": "all"}), &caller(), now())
            .await
            .expect("acknowledged");
        assert_eq!(garbage.event, "ignored");

        // The image was deleted before the findings were fetched.
        let gone = forwarder
            .handle(
                &basic_scan_event("no-such-repository", "sha256:00"),
                &caller(),
                now(),
            )
            .await
            .expect("acknowledged");
        assert_eq!(gone.event, "basic-scan");
        assert_eq!(
            gone.skipped.as_deref(),
            Some("scan of no-such-repository@sha256:00 no longer exists")
        );
        assert!(harness.findings_in_security_hub().await.is_empty());
        assert!(harness.bus_events(0).await.is_empty());
    });
}

#[test]
fn every_asff_request_is_valid_for_the_security_hub_api_model() {
    run_on_large_stack(|| async {
        let harness = Harness::start().await;
        let forwarder = harness.forwarder(json!({"importEnhancedFindings": true}));
        let digest = harness.scanned_image("validated").await;
        let long_description = "overflow ".repeat(300);
        seed_scan_results(
            &harness._moto,
            "validated",
            &digest,
            1_780_000_000,
            json!([
                scan_finding("CVE-2024-1000", "MEDIUM", "bash", "5.1", "5.5"),
                {"name": "CVE-2024-1001", "severity": "UNDEFINED", "description": long_description},
                scan_finding("CVE-2024-1002", "INFORMATIONAL", "glibc", "2.31", "0.0"),
            ]),
        );
        forwarder
            .handle(&basic_scan_event("validated", &digest), &caller(), now())
            .await
            .expect("basic");
        forwarder
            .handle(&inspector_event(), &caller(), now())
            .await
            .expect("enhanced");
        let mut closed = inspector_event();
        closed["detail"]["status"] = json!("CLOSED");
        closed["detail"]["fixAvailable"] = json!("YES");
        closed["detail"]["packageVulnerabilityDetails"]["vulnerablePackages"][0]
            ["fixedInVersion"] = json!("1.4.3-12.amzn2.2.4");
        closed["detail"]["updatedAt"] = json!("bad timestamp");
        forwarder
            .handle(&closed, &caller(), now())
            .await
            .expect("closed");

        let requests = harness.recorded_requests();
        let findings: usize = requests
            .iter()
            .map(|r| r["Findings"].as_array().map_or(0, Vec::len))
            .sum();
        assert_eq!(findings, 5);
        let (valid, output) = validate_with_botocore(&requests);
        assert!(valid, "{output}");
        assert!(
            output.contains("3 requests, 5 findings, 0 problems"),
            "{output}"
        );

        // The validator is not vacuous: without a required field, or with a value outside
        // the model, the same requests fail.
        for (field, value) in [
            ("Title", None),
            ("Resources", None),
            ("Severity", Some(json!({"Label": "SEVERE"}))),
        ] {
            let mut broken = requests.clone();
            match value {
                None => {
                    broken[0]["Findings"][0]
                        .as_object_mut()
                        .expect("finding object")
                        .remove(field);
                }
                Some(value) => broken[0]["Findings"][0][field] = value,
            }
            let (valid, output) = validate_with_botocore(&broken);
            assert!(!valid, "{field}: {output}");
            assert!(output.contains(field), "{field}: {output}");
        }
    });
}
