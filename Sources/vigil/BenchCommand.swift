import ArgumentParser
import Foundation
import VigilPipeline
import VigilReplay

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure a pipeline on generated transactions; prints JSON (events/s, alerts/s, latency percentiles, peak RSS).",
        discussion: """
            --mode broker (default): the events are produced into the embedded broker (or --brokers) while the \
            pipeline consumes them; throughput counts from the first produce to the last event whose effects are \
            acknowledged, latency from each record's produce timestamp to that acknowledgement. --mode passthrough: \
            the same, copying each message unchanged to another topic with no processing — the physical limit. \
            --mode replay: the same events from a file, no broker. Build with -c release for figures worth comparing.
            """
    )

    @Option(name: .long, help: ArgumentHelp("broker, replay or passthrough.", valueName: "mode"))
    var mode: String = "broker"

    @Option(name: .long, help: ArgumentHelp("Number of transactions.", valueName: "n"))
    var events: Int = 200_000

    @Option(name: .long, help: ArgumentHelp("Produce at this many events per second (broker mode). Default: as fast as possible.", valueName: "r"))
    var rate: Int?

    @Option(name: .long, help: ArgumentHelp("Input partitions on the embedded broker (at most 5 MiB each is kept).", valueName: "n"))
    var partitions: Int = 128

    @Option(name: .long, help: ArgumentHelp("Pipeline file (YAML).", valueName: "file"))
    var pipeline: String = "pipelines/default.yaml"

    @OptionGroup var kafka: BrokerOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if Bench.Mode(rawValue: mode) == nil { throw ValidationError("--mode '\(mode)' is not broker, replay or passthrough") }
        if events <= 0 { throw ValidationError("--events must be positive") }
        if let rate, rate <= 0 { throw ValidationError("--rate must be positive") }
        if !(1...10_000).contains(partitions) { throw ValidationError("--partitions must be between 1 and 10000") }
    }

    func run() async throws {
        try await Self.reporting {
            var common = common
            if common.logLevel == "info" { common.logLevel = "warning" }
            let logger = try common.makeLogger("vigil.bench")
            let config = try common.loadConfig()
            let definition = try fail(PipelineDefinition.load(file: pipeline))
            var options = Bench.Options()
            options.mode = Bench.Mode(rawValue: mode)!
            options.events = events
            options.rate = rate
            options.partitions = partitions
            options.brokers = kafka.brokers
            let report = try await Bench.run(options, pipeline: definition, config: config, logger: logger)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            LineWriter().write(Array(try encoder.encode(report)))
        }
    }
}
