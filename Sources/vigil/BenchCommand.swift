import ArgumentParser
import Foundation
import VigilCore
import VigilFormats
import VigilPipeline
import VigilReplay
import VigilScreen

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure a pipeline on generated transactions; prints JSON (events/s, alerts/s, latency percentiles, peak RSS).",
        discussion: """
            --mode broker (default): the events are produced into the embedded broker (or --brokers) while the \
            pipeline consumes them; throughput counts from the first produce to the last event whose effects are \
            acknowledged, latency (latencyMs) from each record's produce timestamp to that acknowledgement, and the \
            alerts' own (alertLatencyMs) from the produce of the event that raised each alert to the alert's \
            acknowledgement. Alerts are signed, partners' copies made and disclosures logged as a deployment does: with \
            the configured keys, or keys made for the run ("keys" says which), and an audit log of the run's own. \
            CPU time per event is the whole process's (cpuMicrosecondsPerEvent), and split by thread \
            (cpuMicrosecondsPerEventByThreads: the embedded broker's, librdkafka's in every client, the rest). \
            --mode passthrough: \
            the same, copying each message unchanged to another topic with no processing — the physical limit. \
            --mode share: the pipeline's throughput as a share of the pass-through's, in --rounds pairs of runs \
            (pass-through and pipeline one right after the other on the same feed, the order alternating); prints \
            each round's rates and share, and the median and lowest share. \
            --duration S with --rate R runs for S seconds (S × R events) and samples the resident set every 10 s \
            (rssMiB), with the heap the allocator has handed out (heapMiB), to show memory stays flat; feeds over 1,000,000 events repeat the first million in rounds, \
            each moved on in event time with fresh ids. --mode replay: the same events from a file, no broker. --mode rules: detection alone (rules and \
            typologies) on one core, each batch decoded just before it outside the time, with the window state it \
            holds; sealing the alerts it found (records, signatures, partner copies: the publishing stage's work) is \
            timed apart. --mode decode: \
            decoder speed alone — each FILE (a real message in a native format, or a batch of them; --format auto by \
            default) is decoded repeatedly on one core for --seconds; prints messages/s and MB/s per file and \
            format. Messages of a batch that do not decode are left out (named on stderr, counted as leftOut). --mode screen: \
            loads the --list watchlists (timed), then screens --events names drawn from them (as listed, misspelt, \
            and recombined), or the names of --names FILE in turn, on one core; prints screenings/s and latency \
            percentiles. Build with -c release for \
            figures worth comparing.
            """
    )

    @Option(name: .long, help: ArgumentHelp("broker, replay, passthrough, share, rules, decode or screen.", valueName: "mode"))
    var mode: String = "broker"

    @Option(name: .long, help: ArgumentHelp("Number of transactions.", valueName: "n"))
    var events: Int = 200_000

    @Option(name: .long, help: ArgumentHelp("Produce at this many events per second (broker mode). Default: as fast as possible.", valueName: "r"))
    var rate: Int?

    @Option(name: .long, help: ArgumentHelp(
        "Broker mode: produce for this many seconds at --rate (sets --events to seconds × rate); the report samples the resident set every 10 s.",
        valueName: "s"))
    var duration: Int?

    @Option(name: .long, help: ArgumentHelp(
        "Input partitions. Default: with --rate, the configured kafka.partitions (what `vigil run` creates: 8); without, 128, since everything is produced at once and the embedded broker keeps at most 5 MiB per partition.",
        valueName: "n"))
    var partitions: Int?

    @Option(name: .long, help: ArgumentHelp("Pipeline file (YAML).", valueName: "file"))
    var pipeline: String = "pipelines/default.yaml"

    @Option(name: .long, help: ArgumentHelp("Decode mode: the files' format, or auto.", valueName: "format"))
    var format: FormatChoice = .auto

    @Option(name: .long, help: ArgumentHelp("Decode mode: seconds of decoding per file.", valueName: "s"))
    var seconds: Double = 2

    @Option(name: .long, help: ArgumentHelp(
        "Rules mode: detect the feed this many times, each with a fresh engine, and report the median round (and every round's rate). Share mode: pairs of runs.",
        valueName: "n"))
    var rounds: Int = 1

    @Option(name: .long, help: ArgumentHelp("Screen mode: a watchlist as NAME=FILE. Repeatable.", valueName: "name=file"))
    var list: [String] = []

    @Option(name: .long, help: ArgumentHelp(
        "Screen mode: screen these names (one a line, such as the parties of your own payments) in turn, instead of names drawn from the lists.",
        valueName: "file"))
    var names: String?

    @Argument(help: ArgumentHelp("Decode mode: message files.", valueName: "file"))
    var files: [String] = []

    @OptionGroup var kafka: BrokerOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if mode == "decode" {
            if files.isEmpty { throw ValidationError("--mode decode needs message files") }
            return
        }
        if mode == "screen" {
            if list.isEmpty { throw ValidationError("--mode screen needs at least one --list NAME=FILE") }
            _ = try ScreenCommand.lists(list)
        } else if names != nil {
            throw ValidationError("--names applies to --mode screen")
        }
        if Bench.Mode(rawValue: mode) == nil, !["rules", "screen", "share"].contains(mode) {
            throw ValidationError("--mode '\(mode)' is not broker, replay, passthrough, share, rules, decode or screen")
        }
        if events <= 0 { throw ValidationError("--events must be positive") }
        if !(1...100).contains(rounds) { throw ValidationError("--rounds must be between 1 and 100") }
        if rounds != 1, !["rules", "share"].contains(mode) { throw ValidationError("--rounds applies to --mode rules or share") }
        if let rate, rate <= 0 { throw ValidationError("--rate must be positive") }
        if let duration {
            if duration <= 0 { throw ValidationError("--duration must be positive") }
            if rate == nil { throw ValidationError("--duration needs --rate: the run produces seconds × rate events") }
            if !["broker", "passthrough", "share"].contains(mode) { throw ValidationError("--duration applies to --mode broker, passthrough or share") }
        }
        if let partitions, !(1...10_000).contains(partitions) { throw ValidationError("--partitions must be between 1 and 10000") }
    }

    func run() async throws {
        try await Self.reporting {
            var common = common
            if common.logLevel == "info" { common.logLevel = "warning" }
            let logger = try common.makeLogger("vigil.bench")
            let config = try common.loadConfig()
            if mode == "decode" {
                try decodeBench(config: config)
                return
            }
            if mode == "screen" {
                let specs = try ScreenCommand.lists(list)
                let report: ScreeningBench.Report
                let given = try names.map { path in (source: path, names: try Self.names(path)) }
                do { report = try ScreeningBench.run(lists: specs, queries: events, names: given) } catch { throw CLIError("\(error)") }
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                LineWriter().write(Array(try encoder.encode(report)))
                return
            }
            let definition = try fail(PipelineDefinition.load(file: pipeline))
            if mode == "rules" {
                let report = try await Bench.rules(pipeline: definition, config: config, events: events, rounds: rounds)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                LineWriter().write(Array(try encoder.encode(report)))
                return
            }
            var options = Bench.Options()
            options.mode = Bench.Mode(rawValue: mode) ?? .broker
            options.events = duration.map { $0 * rate! } ?? events
            options.rate = rate
            // Paced, the input is laid out as a deployment lays it out: the embedded broker returns
            // one producer batch per partition and fetch, so more partitions than that means
            // smaller batches and a longer latency tail (p99 at 125,000/s: 23 ms with 8, 60 with 64).
            options.partitions = partitions ?? (rate != nil ? config.kafka.partitions : 128)
            options.brokers = kafka.brokers
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            if mode == "share" {
                let report = try await Bench.share(options, rounds: rounds, pipeline: definition, config: config, logger: logger)
                LineWriter().write(Array(try encoder.encode(report)))
                return
            }
            let report = try await Bench.run(options, pipeline: definition, config: config, logger: logger)
            LineWriter().write(Array(try encoder.encode(report)))
        }
    }

    /// The names of a screening bench's names file: one a line, blank lines skipped.
    static func names(_ path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { throw CLIError.unreadable(path) }
        guard let text = String(data: data, encoding: .utf8) else { throw CLIError("\(path): not UTF-8 text") }
        let names = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if names.isEmpty { throw CLIError("\(path): no names (one a line)") }
        return names
    }

    /// One JSON line per file: the same message decoded in a loop on this thread (one core).
    /// The time is cut into slices of about 100 ms and the median slice is reported (the best
    /// one too): on a shared two-core machine single slices swing by a third, the median far less.
    func decodeBench(config: VigilConfig) throws {
        let clock = ContinuousClock()
        for path in files {
            let file = try MessageFile(path: path, format: format, config: config)
            let f = try file.requireFormat()
            let options = file.options
            // One untimed pass: warms caches, counts the events a pass yields, and leaves out the
            // messages of a batch that do not decode (timing the error path would be
            // meaningless), saying which; a file with none that decodes is an error.
            var eventsPerPass = 0
            var messages: [FeedMessage] = []
            for (n, m) in file.messages.enumerated() {
                do {
                    eventsPerPass += try FeedDecoder.decode(m.bytes, as: f, options: options).count
                    messages.append(m)
                } catch {
                    guard file.messages.count > 1 else { throw CLIError("\(path): \(error)") }
                    FileHandle.standardError.write(Data("vigil bench: \(path) (message \(n + 1) of \(file.messages.count)) left out: \(error)\n".utf8))
                }
            }
            guard !messages.isEmpty else { throw CLIError("\(path): no message decodes") }
            let size = messages.reduce(0) { $0 + $1.bytes.count }
            /// Passes over `messages` per second, one entry per slice.
            var slices: [Double] = []
            let start = clock.now
            let budget = Duration.milliseconds(Int64(self.seconds * 1000))
            repeat {
                let sliceStart = clock.now
                var rounds = 0
                repeat {
                    for m in messages { _ = try? FeedDecoder.decode(m.bytes, as: f, options: options) }
                    rounds += 1
                } while clock.now - sliceStart < .milliseconds(100)
                slices.append(Double(rounds) / (clock.now - sliceStart).inSeconds)
            } while clock.now - start < budget
            slices.sort()
            let median = slices[slices.count / 2], best = slices[slices.count - 1]
            let line: [String: Any] = [
                "file": (path as NSString).lastPathComponent, "format": f.rawValue, "bytes": size,
                "slices": slices.count, "messages": messages.count, "leftOut": file.messages.count - messages.count,
                "messagesPerSecond": Int(median * Double(messages.count)),
                "eventsPerSecond": Int(median * Double(eventsPerPass)),
                "megabytesPerSecond": (median * Double(size) / 1_000_000 * 10).rounded() / 10,
                "bestMegabytesPerSecond": (best * Double(size) / 1_000_000 * 10).rounded() / 10,
            ]
            LineWriter().write(Array(try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])))
        }
    }
}
