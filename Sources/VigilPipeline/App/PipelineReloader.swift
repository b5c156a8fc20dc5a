import Foundation
import Logging
import VigilCore

/// Hot reload: watches a pipeline file and hands each valid change to the runner. An invalid
/// change is logged with its reason (file, line, column) and the running pipeline stays; so is
/// a change of topics, which needs a restart.
public final class PipelineReloader: Sendable {
    private let file: String
    private let config: VigilConfig
    private let runner: PipelineRunner
    private let logger: Logger
    /// The file's text as last seen, so only a change is parsed and reported, once.
    private let seen: Locked<String?>

    public init(file: String, config: VigilConfig, runner: PipelineRunner, logger: Logger) {
        self.file = file
        self.config = config
        self.runner = runner
        self.logger = logger
        self.seen = Locked(try? String(contentsOfFile: file, encoding: .utf8))
    }

    public enum Outcome: Sendable, Equatable {
        case unchanged
        case reloaded(String)
        case rejected(String)
    }

    /// Looks at the file once.
    @discardableResult
    public func check() -> Outcome {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8), text != seen.value else { return .unchanged }
        seen.withLock { $0 = text }
        do {
            let p = try PipelineDefinition.parse(text, file: file)
            try runner.reload(p, topics: p.topics(from: config))
            return .reloaded("\(p.name)@\(p.version)")
        } catch {
            logger.error("pipeline change rejected; the running pipeline stays", metadata: ["reason": "\(error)"])
            return .rejected(error.description)
        }
    }

    /// Checks every `interval` until cancelled.
    public func watch(every interval: Duration) async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { return }
            check()
        }
    }
}
