import VigilCore
import VigilFormats

/// `vigil eval anomaly`: a detector run over a labelled table, score then learn, one row at a
/// time, as it would run on a stream; ROC AUC, PR AUC and speed.
public enum AnomalyEvaluation {
    public enum Detector: String, Sendable, CaseIterable, Codable {
        /// Half-Space Trees after online min-max scaling (River's `MinMaxScaler | HalfSpaceTrees`).
        case hst
        /// The largest per-feature |z| against the running mean and deviation.
        case zscore
        /// Per-entity baselines (``EntityBaseline``): share of balance, amount against the
        /// account's history and its peers, new counterparty.
        case baseline
        /// Bursts between accounts (``EdgeBurst``) over entity → counterparty edges per time tick.
        case edge
    }

    /// Which columns hold each row's account, amount and context (baseline and edge detectors,
    /// figures per account).
    public struct EventColumns: Sendable {
        public var entity: String
        public var amount: String
        public var balance: String?
        public var peer: String?
        public var counterparty: String?
        /// Whole time ticks (a step, an hour number), for the edge detector.
        public var time: String?
        public init(entity: String, amount: String, balance: String? = nil, peer: String? = nil, counterparty: String? = nil, time: String? = nil) {
            self.entity = entity
            self.amount = amount
            self.balance = balance
            self.peer = peer
            self.counterparty = counterparty
            self.time = time
        }
    }

    public struct Table: Sendable {
        public var features: [String]
        public var rows: [[Double]]
        public var labels: [Bool]
        /// For the baseline and edge detectors: one event per row, and its time tick.
        public var events: [EntityBaseline.Event] = []
        public var ticks: [Int64] = []
    }

    public struct Report: Sendable, Codable {
        public var file: String
        public var detector: Detector
        public var features: [String]
        public var rows: Int
        public var anomalies: Int
        public var rocAUC: Double
        public var prAUC: Double
        public var seconds: Double
        public var eventsPerSecond: Int
        public var seed: UInt64?
        public var trees: Int?
        public var height: Int?
        public var window: Int?
        /// Set when the figures are per account (`anomalies` then counts labelled accounts).
        public var accounts: Int?
    }

    /// Reads the label column and the feature columns of a CSV with a header (and, for a
    /// baseline, the columns it names). A label is true for `1`, `true` or `yes`; every feature
    /// and amount must be a number.
    public static func table(csv bytes: [UInt8], file: String, label: String?, features: [String],
                             baseline: EventColumns? = nil) throws(AnomalyError) -> Table {
        let records = try csv(bytes, file: file)
        guard let header = records.first else { throw AnomalyError("\(file): empty file: a header row is required") }
        func column(_ name: String) throws(AnomalyError) -> Int {
            guard let i = header.fields.firstIndex(of: name) else {
                throw AnomalyError("\(file): line 1: no column '\(name)' (columns: \(header.fields.joined(separator: ", ")))")
            }
            return i
        }
        func optionalColumn(_ name: String?) throws(AnomalyError) -> Int? {
            guard let name else { return nil }
            return try column(name)
        }
        let labelColumn = try optionalColumn(label)
        var featureColumns: [Int] = []
        for f in features { featureColumns.append(try column(f)) }
        let entity = try optionalColumn(baseline?.entity), amount = try optionalColumn(baseline?.amount)
        let balance = try optionalColumn(baseline?.balance), peer = try optionalColumn(baseline?.peer)
        let counterparty = try optionalColumn(baseline?.counterparty), time = try optionalColumn(baseline?.time)
        var table = Table(features: features, rows: [], labels: [])
        table.rows.reserveCapacity(records.count)
        for r in records.dropFirst() where !(r.fields.count == 1 && r.fields[0].isEmpty) {
            guard r.fields.count == header.fields.count else {
                throw AnomalyError("\(file): line \(r.line): \(r.fields.count) fields, the header has \(header.fields.count)")
            }
            func number(_ i: Int) throws(AnomalyError) -> Double {
                guard let v = Double(r.fields[i]), v.isFinite else {
                    throw AnomalyError("\(file): line \(r.line), column '\(header.fields[i])': '\(r.fields[i])' is not a number")
                }
                return v
            }
            var row: [Double] = []
            for i in featureColumns { row.append(try number(i)) }
            table.rows.append(row)
            if let labelColumn { table.labels.append(isTrue(r.fields[labelColumn])) }
            let when = try time.map(number)
            if let when { table.ticks.append(Int64(when.rounded(.down))) }
            if let entity, let amount {
                table.events.append(EntityBaseline.Event(entity: r.fields[entity], amount: try number(amount),
                                                         balanceBefore: try balance.map(number), peer: peer.map { r.fields[$0] },
                                                         counterparty: counterparty.map { r.fields[$0] }, time: when))
            }
        }
        return table
    }

    /// The records of a CSV file, its syntax errors said with the file's name.
    private static func csv(_ bytes: [UInt8], file: String) throws(AnomalyError) -> [CSVDecoder.Record] {
        do { return try CSVDecoder.records(bytes, delimiter: UInt8(ascii: ",")) } catch {
            throw AnomalyError("\(file): \(error.location.map { "\($0): " } ?? "")\(error.message)")
        }
    }

    static func isTrue(_ s: String) -> Bool { ["1", "true", "yes", "1.0"].contains(s.lowercased()) }

    /// Account labels from a CSV: the account column and the label column.
    public static func accountLabels(csv bytes: [UInt8], file: String, account: String?, label: String) throws(AnomalyError) -> [String: Bool] {
        let records = try csv(bytes, file: file)
        guard let header = records.first, !header.fields.isEmpty else { throw AnomalyError("\(file): empty file: a header row is required") }
        let a = account.flatMap { header.fields.firstIndex(of: $0) } ?? (account == nil ? 0 : nil)
        guard let a else { throw AnomalyError("\(file): line 1: no column '\(account!)'") }
        guard let l = header.fields.firstIndex(of: label) else { throw AnomalyError("\(file): line 1: no column '\(label)'") }
        var out: [String: Bool] = [:]
        for r in records.dropFirst() where r.fields.count > max(a, l) { out[r.fields[a]] = isTrue(r.fields[l]) }
        return out
    }

    /// Scores every row with the detector, score then learn. With `accounts`, the figures are
    /// per account instead: an account scores the highest score of the rows it sent or received
    /// (the rows' entity and counterparty), and every labelled account counts (0 when it has none).
    public static func run(_ table: Table, file: String, detector: Detector, options: HalfSpaceTrees.Options,
                           accounts: [String: Bool]? = nil) -> Report {
        var scores: [Double] = []
        scores.reserveCapacity(table.rows.count)
        let clock = ContinuousClock()
        let start = clock.now
        switch detector {
        case .hst:
            var scaler = MinMaxScaler(features: table.features.count)
            var trees = HalfSpaceTrees(features: table.features.count, options: options)
            for x in table.rows {
                scores.append(trees.score(scaler.transform(x)))
                scaler.learn(x)
                trees.learn(scaler.transform(x))
            }
        case .zscore:
            var z = ZScoreDetector(features: table.features.count)
            for x in table.rows {
                scores.append(z.score(x))
                z.learn(x)
            }
        case .baseline:
            var b = EntityBaseline()
            for e in table.events {
                scores.append(b.score(e).score)
                b.learn(e)
            }
        case .edge:
            var midas = EdgeBurst()
            for (e, t) in zip(table.events, table.ticks) {
                scores.append(midas.process(source: e.entity, target: e.counterparty ?? "", time: t))
            }
        }
        let elapsed = clock.now - start
        let seconds = elapsed.inSeconds
        func r(_ x: Double) -> Double { (x * 10_000).rounded() / 10_000 }
        let hst = detector == .hst
        var ranked = (scores: scores, labels: table.labels)
        if let accounts {
            var best: [String: Double] = [:]
            for (e, score) in zip(table.events, scores) {
                for account in [e.entity] + (e.counterparty.map { [$0] } ?? []) { best[account] = max(best[account] ?? 0, score) }
            }
            let ids = accounts.keys.sorted()
            ranked = (ids.map { best[$0] ?? 0 }, ids.map { accounts[$0]! })
        }
        var report = Report(file: file, detector: detector, features: table.features, rows: table.rows.count, anomalies: ranked.labels.count { $0 },
                      rocAUC: r(RankingMetrics.rocAUC(scores: ranked.scores, labels: ranked.labels)),
                      prAUC: r(RankingMetrics.prAUC(scores: ranked.scores, labels: ranked.labels)),
                      seconds: (seconds * 1000).rounded() / 1000, eventsPerSecond: Int(Double(table.rows.count) / max(seconds, 1e-9)),
                      seed: hst ? options.seed : nil, trees: hst ? options.trees : nil, height: hst ? options.height : nil,
                      window: hst ? options.window : nil)
        report.accounts = accounts?.count
        return report
    }
}

public struct AnomalyError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
