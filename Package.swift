// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "reckon",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "reckon", targets: ["reckon"]),
        .executable(name: "reckon-bench", targets: ["reckon-bench"]),
        .library(name: "ReckonCore", targets: ["ReckonCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        // The daemon's /healthz and /metrics (Sources/ReckonHTTP/). Hummingbird's default traits
        // (swift-configuration support, full Foundation) are off: nothing here needs them and
        // swift-configuration would only lengthen the build.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // libxml2 behind a thin shim (see Sources/CLibXML2/shim.h for the ICU clash it avoids).
        .systemLibrary(
            name: "CLibXML2",
            pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"])]
        ),
        // libzip, for the outbox's zip of a partner-day's files and the safe reader of inbound
        // archives (Sources/ReckonFiles/Outbox/).
        .systemLibrary(
            name: "CLibZip",
            pkgConfig: "libzip",
            providers: [.apt(["libzip-dev"])]
        ),
        // libssh2 (SSH and SFTP) for partners' SFTP drops; its headers as Debian ships them.
        .systemLibrary(
            name: "CLibSSH2",
            pkgConfig: "libssh2",
            providers: [.apt(["libssh2-1-dev"])]
        ),
        // SQLite's process-wide settings, which need a C call (see include/sqlite_setup.h).
        .target(
            name: "CSQLiteSetup",
            linkerSettings: [.linkedLibrary("sqlite3")]
        ),
        // The pure core: the mapping-spec language, field types, record readers over bytes,
        // control totals and the renderer. No file, network or database I/O.
        .target(
            name: "ReckonCore",
            dependencies: [.product(name: "Yams", package: "Yams")]
        ),
        // Adapter: ISO 20022 and other XML files through libxml2's streaming reader.
        .target(
            name: "ReckonXML",
            dependencies: ["ReckonCore", "CLibXML2"]
        ),
        // Adapter: partner files on disk, read in bounded chunks through a spec.
        .target(
            name: "ReckonFiles",
            dependencies: [
                "ReckonCore", "ReckonXML", "CLibZip",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // Adapter: partners' SFTP drops through libssh2: host keys pinned from known_hosts,
        // key authentication, deadlines, retries, streaming transfers under temporary names.
        .target(
            name: "ReckonSFTP",
            dependencies: [
                "ReckonCore", "ReckonFiles", "CLibSSH2",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // Adapter: the double-entry ledger in SQLite (GRDB), and ingest into it.
        .target(
            name: "ReckonLedger",
            dependencies: [
                "ReckonCore", "ReckonFiles", "CSQLiteSetup",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The daemon (`reckon run`): watches the drops, polls SFTP, processes each complete
        // file once through the batch's steps, ticks scheduled work, stops gracefully.
        .target(
            name: "ReckonDaemon",
            dependencies: [
                "ReckonCore", "ReckonFiles", "ReckonLedger", "ReckonSFTP", "ReckonHTTP",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // Adapter: the daemon's monitoring endpoint over HTTP (Hummingbird), GET /healthz and
        // GET /metrics (Prometheus text), on a loopback address only; the daemon composes it and
        // records its metrics through its typed facade (DaemonMetrics, over swift-metrics).
        .target(
            name: "ReckonHTTP",
            dependencies: [
                "ReckonCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "reckon",
            dependencies: [
                "ReckonCore", "ReckonFiles", "ReckonLedger", "ReckonSFTP", "ReckonDaemon", "ReckonHTTP",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "reckon-bench",
            dependencies: [
                "ReckonCore", "ReckonFiles", "ReckonLedger", "ReckonSFTP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "ReckonCoreTests",
            dependencies: ["ReckonCore", .product(name: "PropertyBased", package: "swift-property-based")]
        ),
        .testTarget(
            name: "ReckonFilesTests",
            dependencies: ["ReckonCore", "ReckonFiles", "ReckonXML", "CLibZip"]
        ),
        .testTarget(
            name: "ReckonLedgerTests",
            dependencies: ["ReckonCore", "ReckonFiles", "ReckonLedger", "ReckonDaemon", "CLibZip",
                           .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log")]
        ),
        // Against a real OpenSSH sshd on 127.0.0.1, started and stopped by the tests; runs the
        // built `reckon` too (a batch with an SFTP drop).
        .testTarget(
            name: "ReckonSFTPTests",
            dependencies: ["reckon", "ReckonCore", "ReckonFiles", "ReckonLedger", "ReckonSFTP", "CLibSSH2"]
        ),
        // Starts the monitoring server on 127.0.0.1 (an ephemeral port) and reads it over a
        // plain socket.
        .testTarget(
            name: "ReckonHTTPTests",
            dependencies: [
                "ReckonHTTP", "ReckonCore",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Runs the built `reckon` binary; depending on it makes `swift test` build it.
        // ReckonLedger for its list of crash points (CrashPoint.allCases); GRDB to write a
        // ledger's rows the way someone with the sqlite3 shell would (breaks, a tampered log).
        .testTarget(
            name: "ReckonCLITests",
            dependencies: ["reckon", "ReckonLedger", .product(name: "GRDB", package: "GRDB.swift")]
        ),
    ]
)
