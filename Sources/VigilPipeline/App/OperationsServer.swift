import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import VigilCore

/// The operations endpoint (HTTP/1.1): `GET /livez`, `/readyz` and `/metrics`.
///
/// Answers come from closures that only read state the pipeline keeps anyway, so a scrape never
/// waits on Kafka: readiness is probed in the background (``PipelineService``).
public final class OperationsServer: Service {
    /// What `/readyz` says: ready, or why not.
    public typealias Readiness = @Sendable () -> (ready: Bool, reason: String)

    private let host: String
    private let port: Int
    private let readiness: Readiness
    private let metrics: @Sendable () -> [UInt8]
    private let logger: Logger
    private let bound = Locked<(any Channel)?>(nil)

    public init(host: String, port: Int, readiness: @escaping Readiness, metrics: @escaping @Sendable () -> [UInt8], logger: Logger) {
        self.host = host
        self.port = port
        self.readiness = readiness
        self.metrics = metrics
        self.logger = logger
    }

    /// The port listened on (the one asked for, or the one the system chose for port 0).
    public var localPort: Int? { bound.withLock { $0?.localAddress?.port } }

    /// Binds, then serves until graceful shutdown or cancellation.
    public func run() async throws {
        let channel = try await start()
        await withGracefulShutdownHandler {
            try? await channel.closeFuture.get()
        } onGracefulShutdown: {
            channel.close(promise: nil)
        }
    }

    /// Binds and returns the listening channel (for tests: close it to stop).
    public func start() async throws -> any Channel {
        let readiness = self.readiness, metrics = self.metrics
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { child in
                    child.pipeline.configureHTTPServerPipeline().flatMapThrowing {
                        try child.pipeline.syncOperations.addHandler(Handler(readiness: readiness, metrics: metrics))
                    }
                }
                .bind(host: host, port: port).get()
        } catch {
            throw OperationsServerError(description: "cannot listen on \(host):\(port) for /livez, /readyz and /metrics: \(error) (set http.port, or VIGIL_HTTP_PORT=0 for none)")
        }
        bound.withLock { $0 = channel }
        logger.info("operations endpoint listening", metadata: ["address": "\(host):\(channel.localAddress?.port ?? port)",
                                                                 "paths": "/livez /readyz /metrics"])
        return channel
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let readiness: Readiness
        let metrics: @Sendable () -> [UInt8]
        private var head: HTTPRequestHead?

        init(readiness: @escaping Readiness, metrics: @escaping @Sendable () -> [UInt8]) {
            self.readiness = readiness
            self.metrics = metrics
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let h): head = h
            case .body: break
            case .end:
                guard let h = head else { return }
                head = nil
                let (status, type, body) = answer(h)
                var headers = HTTPHeaders([("content-type", type), ("content-length", String(body.count))])
                if !h.isKeepAlive { headers.add(name: "connection", value: "close") }
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: h.version, status: status, headers: headers))), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
                let keepAlive = h.isKeepAlive
                // The channel, not the context, in the completion handler: a channel may be used
                // from any thread, a context only on its event loop.
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                    if !keepAlive { channel.close(promise: nil) }
                }
            }
        }

        private func answer(_ h: HTTPRequestHead) -> (HTTPResponseStatus, String, [UInt8]) {
            let text = "text/plain; charset=utf-8"
            guard h.method == .GET || h.method == .HEAD else { return (.methodNotAllowed, text, Array("GET only\n".utf8)) }
            switch h.uri.split(separator: "?").first.map(String.init) ?? h.uri {
            case "/livez": return (.ok, text, Array("ok\n".utf8))
            case "/readyz":
                let r = readiness()
                return (r.ready ? .ok : .serviceUnavailable, text, Array((r.reason + "\n").utf8))
            case "/metrics": return (.ok, "text/plain; version=0.0.4; charset=utf-8", metrics())
            default: return (.notFound, text, Array("not found: try /livez, /readyz or /metrics\n".utf8))
            }
        }
    }
}

public struct OperationsServerError: Error, CustomStringConvertible {
    public var description: String
}
