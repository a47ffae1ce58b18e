import NIOConcurrencyHelpers
import Prometheus
import SkiffController
import SkiffGateway

/// Skiff's metrics in the Prometheus text format: the autoscaler's view of each revision
/// (read from the controller at scrape time) and the gateway's requests (recorded as they
/// finish).
///
/// Every family is registered with its help text on a swift-prometheus registry, which
/// `promtool check metrics` requires. Requests are labelled by service and revision only
/// once a route was found, so random `Host` headers cannot grow the label sets.
final class PlatformMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()

    private struct RequestKey: Hashable {
        var service: String
        var revision: String
        var code: Int
    }

    private struct RevisionKey: Hashable {
        var service: String
        var revision: String
    }

    private struct RevisionGauges {
        var desired, ready, frozen, starting, stable, panic, panicMode, queued: Gauge
    }

    private struct State {
        var requests: [RequestKey: Counter] = [:]
        var latency: [RevisionKey: DurationHistogram] = [:]
        var coldStarts: [String: DurationHistogram] = [:]
        var revisions: [RevisionKey: RevisionGauges] = [:]
    }

    private let state = NIOLockedValueBox(State())

    static let latencyBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5),
        .seconds(10), .seconds(30), .seconds(60),
    ]
    static let coldStartBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]

    private static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "skiff", metricName: metric, unitName: unit, helpText: help)
    }

    // MARK: Requests

    /// Called by the gateway on its event loop once per finished request.
    func record(_ request: GatewayRequestRecord) {
        let service = request.revision == nil ? "" : request.service ?? ""
        let revision = request.revision ?? ""
        // The labels only when a metric is made: this runs for every request.
        func labels() -> [(String, String)] { [("service", service), ("revision", revision)] }
        let (counter, latency, coldStart) = state.withLockedValue { state in
            let counter = Self.cached(
                &state.requests, RequestKey(service: service, revision: revision, code: request.status)
            ) {
                registry.makeCounter(
                    descriptor: Self.name("requests", "total", "Requests the gateway answered, by status code."),
                    labels: labels() + [("code", String(request.status))])
            }
            let latency = Self.cached(&state.latency, RevisionKey(service: service, revision: revision)) {
                registry.makeDurationHistogram(
                    descriptor: Self.name(
                        "request_duration", "seconds", "Time from a request's head to the end of its response."),
                    labels: labels(), buckets: Self.latencyBuckets)
            }
            var coldStart: DurationHistogram?
            if request.thawed || request.queued != nil {
                let kind = request.thawed ? "frozen" : "new"
                coldStart = Self.cached(&state.coldStarts, "\(service)\u{0}\(revision)\u{0}\(kind)") {
                    registry.makeDurationHistogram(
                        descriptor: Self.name(
                            "cold_start_duration", "seconds",
                            "Delay a request had because no running instance could take it: waiting for a new instance (kind=new) or thawing a frozen one (kind=frozen)."
                        ),
                        labels: labels() + [("kind", kind)], buckets: Self.coldStartBuckets)
                }
            }
            return (counter, latency, coldStart)
        }
        counter.increment()
        latency.record(request.duration)
        if let coldStart {
            coldStart.record(request.thawed ? request.thawDuration ?? .zero : request.queued ?? .zero)
        }
    }

    /// The metric made for `key` before, or a new one remembered under it.
    private static func cached<Key: Hashable, Metric>(_ metrics: inout [Key: Metric], _ key: Key, make: () -> Metric)
        -> Metric
    {
        if let metric = metrics[key] { return metric }
        let metric = make()
        metrics[key] = metric
        return metric
    }

    // MARK: Scrape

    /// Updates the revision gauges from `status` and renders every metric.
    func render(_ status: [RevisionScalingStatus]) -> String {
        state.withLockedValue { state in
            var current = Set<RevisionKey>()
            for revision in status {
                let key = RevisionKey(service: revision.service, revision: revision.revision)
                current.insert(key)
                let gauges = state.revisions[key] ?? makeGauges(key)
                state.revisions[key] = gauges
                gauges.desired.set(Double(revision.desired))
                gauges.ready.set(Double(revision.ready))
                gauges.frozen.set(Double(revision.frozen))
                gauges.starting.set(Double(revision.starting))
                gauges.stable.set(revision.stableConcurrency)
                gauges.panic.set(revision.panicConcurrency)
                gauges.panicMode.set(revision.inPanic ? 1.0 : 0.0)
                gauges.queued.set(Double(revision.queued))
            }
            for (key, gauges) in state.revisions where !current.contains(key) {
                for gauge in [
                    gauges.desired, gauges.ready, gauges.frozen, gauges.starting, gauges.stable, gauges.panic,
                    gauges.panicMode, gauges.queued,
                ] {
                    registry.unregisterGauge(gauge)
                }
                state.revisions[key] = nil
            }
        }
        return registry.emitToString()
    }

    private func makeGauges(_ key: RevisionKey) -> RevisionGauges {
        let labels = [("service", key.service), ("revision", key.revision)]
        func gauge(_ metric: String, _ unit: String, _ help: String) -> Gauge {
            registry.makeGauge(descriptor: Self.name(metric, unit, help), labels: labels)
        }
        return RevisionGauges(
            desired: gauge("revision_desired", "instances", "Instances the autoscaler wants for the revision."),
            ready: gauge("revision_ready", "instances", "Instances of the revision running and taking requests."),
            frozen: gauge("revision_frozen", "instances", "Instances of the revision frozen (memory kept, no CPU)."),
            starting: gauge("revision_starting", "instances", "Instances of the revision starting."),
            stable: gauge(
                "revision_stable_concurrency", "requests", "Average in-flight requests over the stable window."),
            panic: gauge("revision_panic_concurrency", "requests", "Average in-flight requests over the panic window."),
            panicMode: gauge("revision_panic_mode", "", "1 while the autoscaler is in panic mode, else 0."),
            queued: gauge("revision_queued", "requests", "Requests waiting in the activator's queue for an instance."))
    }
}
