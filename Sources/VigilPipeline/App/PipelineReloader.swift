import Foundation
import Logging
import VigilCore

/// Hot reload: watches a pipeline file, the watchlist files it loads and the sharing keys
/// directory (a rotated signing key), and hands each valid change to the runner, which loads
/// the keys again with the pipeline. An invalid change is logged with its reason (file, line, column; for a
/// list, the list file's own line or element) and the running pipeline stays; so is a change of
/// topics, which needs a restart.
public final class PipelineReloader: Sendable {
    private let file: String
    /// The sharing keys directory, when keys are read from files.
    private let keys: [String]
    private let config: VigilConfig
    private let runner: PipelineRunner
    private let logger: Logger
    /// The file's text and its lists' state as last seen, so only a change is parsed and
    /// reported, once.
    private let seen: Locked<Seen>
    private let checking = NSLock()

    struct Seen: Sendable, Equatable {
        var text: String?
        /// The watchlist files of the pipeline last loaded (or tried), with their sizes and times.
        var lists: [String]
        var listState: [String]
        var keysState: [String]
    }

    public init(file: String, config: VigilConfig, runner: PipelineRunner, logger: Logger) {
        self.file = file
        self.keys = config.sharing.keysDirectory.map { [$0] } ?? []
        self.config = config
        self.runner = runner
        self.logger = logger
        let lists = runner.pipeline.screening?.lists.map(\.path) ?? []
        self.seen = Locked(Seen(text: try? String(contentsOfFile: file, encoding: .utf8), lists: lists, listState: Self.state(of: lists),
                                keysState: Self.state(of: keys)))
    }

    public enum Outcome: Sendable, Equatable {
        case unchanged
        case reloaded(String)
        case rejected(String)
    }

    /// Size and modification time of each file (of each file in a folder, for OFAC's CSV set).
    static func state(of paths: [String]) -> [String] {
        let fm = FileManager.default
        func describe(_ path: String) -> String {
            guard let a = try? fm.attributesOfItem(atPath: path) else { return "\(path): missing" }
            if a[.type] as? FileAttributeType == .typeDirectory {
                return ((try? fm.contentsOfDirectory(atPath: path)) ?? []).sorted().map { describe((path as NSString).appendingPathComponent($0)) }
                    .joined(separator: "\n")
            }
            let time = (a[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            return "\(path): \(a[.size] as? Int ?? -1) \(time)"
        }
        return paths.map(describe)
    }

    /// Looks at the file, the lists it loads and the keys, once.
    @discardableResult
    public func check() -> Outcome {
        // The timer and SIGHUP may both ask at once; one look at a time.
        checking.lock()
        defer { checking.unlock() }
        let text = try? String(contentsOfFile: file, encoding: .utf8)
        let previous = seen.value
        let listState = Self.state(of: previous.lists), keysState = Self.state(of: keys)
        guard let text, text != previous.text || listState != previous.listState || keysState != previous.keysState else { return .unchanged }
        seen.withLock { $0.text = text; $0.listState = listState; $0.keysState = keysState }
        do {
            let p = try PipelineDefinition.parse(text, file: file)
            let lists = p.screening?.lists.map(\.path) ?? []
            seen.withLock { $0.lists = lists; $0.listState = Self.state(of: lists) }
            try runner.reload(p, topics: p.topics(from: config))
            return .reloaded("\(p.name)@\(p.version)")
        } catch {
            logger.error("pipeline change rejected; the running pipeline stays", metadata: ["reason": "\(error)"])
            return .rejected(error.description)
        }
    }

    /// Checks every `interval`, and at once on SIGHUP (`kill -HUP`, the usual "reload your
    /// files" signal), until cancelled.
    public func watch(every interval: Duration) async {
        signal(SIGHUP, SIG_IGN)
        let hangup = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        hangup.setEventHandler { [weak self] in
            guard let self else { return }
            self.logger.info("SIGHUP: checking the pipeline and its lists")
            self.check()
        }
        hangup.resume()
        defer { hangup.cancel() }
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { return }
            check()
        }
    }
}
