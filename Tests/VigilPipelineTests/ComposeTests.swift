import Foundation
import Testing
import Yams
@testable import VigilPipeline

/// No Docker engine runs here, so the compose file is checked by reading it: it must describe a
/// KRaft Kafka, create the topics `config/default.yaml` names, and point Vigil at that Kafka
/// through environment variables Vigil actually reads.
@Suite("docker-compose.yml agrees with config/")
struct ComposeTests {
    let compose: [String: Any]
    let config: VigilConfig

    init() throws {
        let text = try String(contentsOfFile: shipped("docker-compose.yml"), encoding: .utf8)
        compose = try #require(try Yams.load(yaml: text) as? [String: Any])
        config = try VigilConfig.load(file: shipped("config/default.yaml"), environment: [:])
    }

    var services: [String: [String: Any]] { (compose["services"] as? [String: [String: Any]]) ?? [:] }

    func environment(_ service: String) -> [String: String] {
        ((services[service]?["environment"] as? [String: Any]) ?? [:]).mapValues { "\($0)" }
    }

    @Test("Kafka runs in KRaft mode from the apache/kafka image, with a healthcheck")
    func kafka() throws {
        let kafka = try #require(services["kafka"])
        #expect((kafka["image"] as? String)?.hasPrefix("apache/kafka:") == true)
        let env = environment("kafka")
        #expect(env["KAFKA_PROCESS_ROLES"] == "broker,controller")
        #expect(env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093")
        #expect(env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1")
        #expect(env["ZOOKEEPER_CONNECT"] == nil && env["KAFKA_ZOOKEEPER_CONNECT"] == nil)
        #expect(kafka["healthcheck"] != nil)
    }

    @Test("the init step creates exactly the configured topics with the configured partitions")
    func topics() throws {
        let command = try #require((services["kafka-init"]?["command"] as? [String])?.joined(separator: "\n"))
        let listed = try #require(command.firstMatch(of: /for topic in ([^;]+);/)).1.split(separator: " ").map(String.init)
        let pipeline = try PipelineDefinition.load(file: shipped("pipelines/default.yaml"))
        #expect(Set(listed) == Set(pipeline.topics(from: config).all))
        #expect(command.contains("--partitions \(config.kafka.partitions)"))
        let depends = services["kafka-init"]?["depends_on"] as? [String: [String: String]]
        #expect(depends?["kafka"]?["condition"] == "service_healthy")
    }

    @Test("Vigil reaches Kafka's advertised in-network listener, with env names and topics it understands")
    func vigil() throws {
        let env = environment("vigil")
        let advertised = environment("kafka")["KAFKA_ADVERTISED_LISTENERS"] ?? ""
        let brokers = try #require(env["VIGIL_BROKERS"])
        #expect(advertised.contains("PLAINTEXT://\(brokers)"))
        let known = Set(VigilConfig.environmentVariables.map(\.0))
        for name in env.keys { #expect(known.contains(name), "\(name) is not read by Vigil") }
        // The environment gives the same topics as the configuration file.
        let effective = try VigilConfig.load(file: shipped("config/default.yaml"), environment: env)
        #expect(effective.topics == config.topics)
        #expect(effective.sharing.keysDirectory == "/etc/vigil/keys" && effective.sharing.auditLog?.hasPrefix("/var/lib/vigil/audit/") == true)
        let volumes = try #require(services["vigil"]?["volumes"] as? [String])
        #expect(volumes.contains("./keys:/etc/vigil/keys:ro"))
        // The learnt state is kept on a volume, or a new container would start without it.
        let state = try #require(effective.runtime.stateDirectory)
        #expect(volumes.contains { $0.hasSuffix(":" + state) && !$0.hasPrefix(".") })
        #expect(effective.kafka.brokers == brokers)
        let command = try #require(services["vigil"]?["command"] as? [String])
        #expect(command.first == "run")
        #expect(command.contains("/etc/vigil/pipelines/default.yaml"))
        let dockerfile = try String(contentsOfFile: shipped("Dockerfile"), encoding: .utf8)
        #expect(dockerfile.contains("COPY pipelines /etc/vigil/pipelines"))
        #expect(dockerfile.contains("COPY config /etc/vigil/config"))
        // The volumes' mount points belong to the user Vigil runs as, or nothing could be written.
        #expect(dockerfile.contains("mkdir -p /var/lib/vigil/audit /var/lib/vigil/state && chown -R 65532:65532 /var/lib/vigil"))
        #expect(dockerfile.contains("USER 65532:65532"))
        // The system libraries `vigil` links (Package.swift), to build and to run (zlib comes with
        // any Debian image).
        for (build, run) in [("librdkafka-dev", "librdkafka1"), ("libjemalloc-dev", "libjemalloc2")] {
            #expect(dockerfile.contains(build) && dockerfile.contains(run), "\(build) and \(run) in the Dockerfile")
        }
    }

    @Test("Prometheus scrapes Vigil's /metrics on the port Vigil listens on")
    func prometheus() throws {
        let prometheus = try #require(services["prometheus"])
        #expect((prometheus["image"] as? String)?.hasPrefix("prom/prometheus:") == true)
        #expect((prometheus["volumes"] as? [String])?.contains("./deploy/prometheus.yml:/etc/prometheus/prometheus.yml:ro") == true)
        let scrape = try #require(try Yams.load(yaml: String(contentsOfFile: shipped("deploy/prometheus.yml"), encoding: .utf8)) as? [String: Any])
        let job = try #require((scrape["scrape_configs"] as? [[String: Any]])?.first { $0["job_name"] as? String == "vigil" })
        #expect(job["metrics_path"] as? String == "/metrics")
        let targets = (job["static_configs"] as? [[String: Any]])?.first?["targets"] as? [String]
        let effective = try VigilConfig.load(file: shipped("config/default.yaml"), environment: environment("vigil"))
        #expect(targets == ["vigil:\(effective.http.port)"])
        #expect(effective.http.address == "0.0.0.0")
        #expect((services["vigil"]?["ports"] as? [String])?.contains("\(effective.http.port):\(effective.http.port)") == true)
    }
}
