// swift-tools-version: 6.1
import PackageDescription

// One set of settings for every Swift target.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "vigil",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "vigil", targets: ["vigil"]),
        .library(name: "VigilCore", targets: ["VigilCore"]),
        .library(name: "VigilKafka", targets: ["VigilKafka"]),
        .library(name: "VigilDetect", targets: ["VigilDetect"]),
        .library(name: "VigilFormats", targets: ["VigilFormats"]),
        .library(name: "VigilPipeline", targets: ["VigilPipeline"]),
        .library(name: "VigilReplay", targets: ["VigilReplay"]),
        .library(name: "VigilScreen", targets: ["VigilScreen"]),
        .library(name: "VigilAnomaly", targets: ["VigilAnomaly"]),
        .library(name: "VigilShare", targets: ["VigilShare"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // Ed25519 signatures and HMAC-SHA256 pseudonyms on shared alerts (BoringSSL on Linux).
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        // The operations endpoint: HTTP/1.1 for /livez, /readyz and /metrics (Prometheus text).
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // librdkafka from the system (Debian: librdkafka-dev). Only VigilKafka imports it.
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        // Kafka transport: producer, consumer, admin, embedded broker. No C types leave it.
        .target(
            name: "VigilKafka",
            dependencies: [
                "CRdKafka",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Canonical events, decimal amounts, event time, the alert envelope. Pure value types.
        .target(
            name: "VigilCore",
            dependencies: ["CZlib"],
            swiftSettings: swiftSettings
        ),
        // Decoders of the real feed formats (ISO 20022, SWIFT MT, Fedwire, CSV, PAXLST, PNRGOV)
        // into canonical events. Pure: bytes in, events or a located error out.
        .target(
            name: "VigilFormats",
            dependencies: ["VigilCore"],
            swiftSettings: swiftSettings
        ),
        // The compiler's prefetch hint, as a C inline function; nothing to link.
        .systemLibrary(name: "CPrefetch"),
        // Rules compiled once into evaluators; windows over event time. Pure, no Kafka.
        .target(
            name: "VigilDetect",
            dependencies: ["CPrefetch", "VigilCore"],
            swiftSettings: swiftSettings
        ),
        // Watchlists (UN, OFAC, OpenSanctions, CSV) and name matching across scripts. Pure, no Kafka.
        .target(
            name: "VigilScreen",
            dependencies: ["CPrefetch", "VigilCore", "VigilFormats"],
            swiftSettings: swiftSettings
        ),
        // Online anomaly detectors (Half-Space Trees, z-scores) and their evaluation. Pure, no Kafka.
        .target(
            name: "VigilAnomaly",
            dependencies: ["CPrefetch", "VigilCore", "VigilFormats"],
            swiftSettings: swiftSettings
        ),
        // Sharing with partners under trust: TLP labels, field policies (redact, pseudonymise,
        // generalise), Ed25519 signatures, the hash-chained audit log, goAML drafts. No Kafka.
        .target(
            name: "VigilShare",
            dependencies: [
                "VigilCore",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // Pipeline and config files, the stage runtime, sources and sinks.
        .target(
            name: "VigilPipeline",
            dependencies: [
                "VigilCore",
                "VigilDetect",
                "VigilFormats",
                "VigilKafka",
                "VigilScreen",
                "VigilAnomaly",
                "VigilShare",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        // zlib from the system (Debian: zlib1g-dev), for compressed recording blocks.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // jemalloc from the system (Debian: libjemalloc-dev). Linking it replaces malloc in the
        // whole process (Swift's runtime, Foundation, librdkafka) for every product that links
        // VigilReplay: `vigil` and the tests. Measured with every detector through the embedded
        // broker: the pipeline 1.1× faster than with glibc's malloc, the pass-through unchanged
        // (README, Throughput). VigilReplay reads its statistics for `vigil bench`.
        .systemLibrary(
            name: "CJemalloc",
            pkgConfig: "jemalloc",
            providers: [.apt(["libjemalloc-dev"])]
        ),
        // The options compiled into jemalloc (the `malloc_conf` it reads at start-up).
        .target(name: "CJemallocOptions"),
        // Recordings of topics, replay through the same runner as live, golden-alert comparison,
        // backtests of a pipeline over a labelled data set.
        .target(
            name: "VigilReplay",
            dependencies: [
                "CJemalloc",
                "CJemallocOptions",
                "CZlib",
                "VigilCore",
                "VigilDetect",
                "VigilFormats",
                "VigilKafka",
                "VigilPipeline",
                "VigilShare",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The command line: parses arguments, wires services. Kept thin.
        .executableTarget(
            name: "vigil",
            dependencies: [
                "VigilCore",
                "VigilKafka",
                "VigilPipeline",
                "VigilReplay",
                "VigilScreen",
                "VigilAnomaly",
                "VigilShare",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // Already built for the pipeline's configuration; `screen --eval` reads checks.yml.
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "VigilCoreTests", dependencies: ["VigilCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "VigilFormatsTests",
            dependencies: ["VigilFormats", "VigilCore"],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "VigilDetectTests", dependencies: ["VigilDetect", "VigilCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "VigilAnomalyTests",
            dependencies: ["VigilAnomaly", "VigilCore"],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VigilScreenTests",
            dependencies: ["VigilScreen", "VigilCore"],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VigilShareTests",
            dependencies: ["VigilShare", "VigilCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VigilKafkaTests",
            dependencies: ["VigilKafka"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VigilReplayTests",
            dependencies: ["VigilReplay", "VigilPipeline", "VigilKafka", "VigilCore", "VigilDetect", "VigilFormats", "VigilShare"],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VigilPipelineTests",
            dependencies: ["VigilPipeline", "VigilKafka", "VigilCore", "VigilDetect", "VigilFormats", "VigilShare", "VigilScreen", "vigil"],
            swiftSettings: swiftSettings
        ),
    ]
)
