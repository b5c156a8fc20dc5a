import Foundation

/// Names to screen in one go (`vigil screen --batch FILE`): a CSV with the columns of a list
/// kept by hand (``NameColumns``: `name`, and `id`, `kind`, `birth_date`, `country`,
/// `document`, `phone`, `email` when known; a listed phone or e-mail is a match of its own, as
/// ``Screener/screen(phone:)`` finds it). Every row is checked before any is screened, so a file with a bad
/// row gives one error naming its line and column and no partial output.
public enum ScreeningBatch {
    public struct Row: Sendable, Hashable {
        /// The row's line in the file.
        public var line: Int
        /// Its `id`, or `line-N` when the file has none.
        public var id: String
        public var query: ScreeningQuery
        public var phone: String?
        public var email: String?

        /// The row's matches: its name's, then its phone's and e-mail's.
        func screen(with screener: Screener) -> [ScreeningMatch] {
            screener.screen(query).matches + (phone.map(screener.screen(phone:)) ?? []) + (email.map(screener.screen(email:)) ?? [])
        }
    }

    /// One row's outcome, as a line of output: the row, and its matches at or above the threshold,
    /// each citing the list version it came from.
    public struct Result: Sendable, Codable {
        public var line: Int
        public var id: String
        public var query: ScreeningQuery
        public var phone: String?
        public var email: String?
        public var matches: [ScreeningMatch]

        public init(_ row: Row, _ matches: [ScreeningMatch]) {
            line = row.line
            id = row.id
            query = row.query
            phone = row.phone
            email = row.email
            self.matches = matches
        }
    }

    /// Screens `rows` a block at a time, each block's rows shared among `tasks` concurrent tasks
    /// (the screener serves any number of queries at once), and hands each block's results to
    /// `write` in row order: output as the file goes, and memory bounded by the block.
    public static func screen(_ rows: [Row], with screener: Screener, tasks: Int = ProcessInfo.processInfo.activeProcessorCount,
                              block: Int = 4096, _ write: ([Result]) throws -> Void) async throws {
        let tasks = max(1, tasks), block = max(1, block)
        var start = 0
        while start < rows.count {
            let part = rows[start..<min(rows.count, start + block)]
            let share = (part.count + tasks - 1) / tasks
            let results = await withTaskGroup(of: (Int, [Result]).self) { group in
                for t in 0..<tasks where t * share < part.count {
                    let slice = part[(part.startIndex + t * share)..<(part.startIndex + min(part.count, (t + 1) * share))]
                    group.addTask { (t, slice.map { Result($0, $0.screen(with: screener)) }) }
                }
                var pieces: [(Int, [Result])] = []
                for await piece in group { pieces.append(piece) }
                return pieces.sorted { $0.0 < $1.0 }.flatMap(\.1)
            }
            try write(results)
            start += block
        }
    }

    /// The rows of the file at `path`. `kind`: for rows without a `kind` of their own.
    /// - Throws: ``WatchlistError`` with the file, the line and column, and what is wrong.
    public static func read(_ path: String, kind: NameKind = .unknown) throws(WatchlistError) -> [Row] {
        let rows = try WatchlistLoader.csv(try WatchlistLoader.read(path), file: path)
        guard let header = rows.first else { throw WatchlistError(file: path, "empty file: a header row is required") }
        let columns = try NameColumns(header, file: path)
        var out: [Row] = []
        for row in rows.dropFirst() where !CSVHeader.isBlank(row) {
            let name = try columns.name(of: row, file: path)
            var query = ScreeningQuery(name: name, kind: kind)
            // A column's value, or an error naming its place when `problem` finds one.
            func checked(_ column: Int?, _ problem: (String) -> String?) throws(WatchlistError) -> String? {
                guard let column, let text = columns.field(column, of: row) else { return nil }
                if let p = problem(text) { throw WatchlistError(file: path, location: columns.location(row, column), p) }
                return text
            }
            if let text = try checked(columns.kind, ScreeningQuery.problem(kind:)) { query.kind = NameKind(given: text)! }
            query.birthDate = try checked(columns.birthDate, ScreeningQuery.problem(birthDate:))
            query.country = try checked(columns.country, ScreeningQuery.problem(country:))
            query.document = columns.field(columns.document, of: row)
            let phone = try checked(columns.phone, ScreeningQuery.problem(phone:))
            let email = try checked(columns.email, ScreeningQuery.problem(email:))
            out.append(Row(line: row.line, id: columns.field(columns.id, of: row) ?? "line-\(row.line)", query: query, phone: phone, email: email))
        }
        return out
    }
}
