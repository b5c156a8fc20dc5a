// libFuzzer entry point for screening: built by scripts/fuzz.sh with `-sanitize=fuzzer,address`,
// never part of the package build.
//
// Two kinds of untrusted input reach the screening code. Payment parties' and travellers' names
// come from the feeds, and every one is normalised and matched (byte-level folding of scripts,
// skeletons, Jaro-Winkler on bit sets); a trap there would stop the pipeline on one odd name.
// List files come from outside too, and a hot reload of a damaged one must be refused, not crash
// the process that keeps screening with the version before. So every input is:
// - a query (first line the name, then birth date, country and document), screened as each kind
//   against the UN list of the test fixtures, which spans Latin, Arabic, Cyrillic, Chinese and
//   Korean names;
// - an account, a BIC, a phone number and an e-mail address (its first line), looked up among
//   those the lists give;
// - two names (its first two lines) scored against each other by the matcher;
// - a list file of each format Vigil reads (told from the file's name, as `--list` tells it);
//   one that loads is indexed and screened with its own first name, its first document looked up
//   as an account and a BIC, its first phone and e-mail looked up, and the input's first line
//   looked up as each.
import Foundation
import VigilScreen

private let screener: Screener = {
    let path = ProcessInfo.processInfo.environment["VIGIL_FUZZ_LIST"] ?? "UN_consolidated.xml"
    do { return Screener(lists: [try WatchlistLoader.load(name: "UN", path: path)]) } catch {
        fatalError("fuzz-screening: \(error) (VIGIL_FUZZ_LIST names the list to screen against)")
    }
}()
private let matcher = NameMatcher()
private let directory: String = {
    let path = NSTemporaryDirectory() + "vigil-fuzz-screening-\(getpid())/"
    try? FileManager.default.createDirectory(atPath: path + "ofac", withIntermediateDirectories: true)
    return path
}()
/// One list per loader, as file names tell them apart: UN, EU or OFAC XML by the root element;
/// OFAC's legacy CSV set (the input as each of its four files); FollowTheMoney or Senzing JSON
/// lines; the CSV layouts told apart by their header.
private let lists: [(path: String, files: [String])] = [
    ("list.xml", ["list.xml"]),
    ("ofac", ["ofac/sdn.csv", "ofac/alt.csv", "ofac/add.csv", "ofac/sdn_comments.csv"]),
    ("list.json", ["list.json"]),
    ("list.csv", ["list.csv"]),
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzScreening(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    func line(_ i: Int) -> String? { i < lines.count ? lines[i] : nil }

    for kind in NameKind.allCases {
        _ = screener.screen(ScreeningQuery(name: lines[0], kind: kind, birthDate: line(1), country: line(2), document: line(3)))
    }
    // As an account, a bank, a contact: every payment's and booking's are looked up.
    _ = screener.screen(address: lines[0])
    _ = screener.screen(bic: lines[0])
    _ = screener.screen(phone: lines[0])
    _ = screener.screen(email: lines[0])
    if let second = line(1) {
        _ = matcher.score(NormalizedName(lines[0]), NormalizedName(second, kind: .person))
    }
    let contents = Data(bytes)
    for (path, files) in lists {
        for file in files { FileManager.default.createFile(atPath: directory + file, contents: contents) }
        guard let list = try? WatchlistLoader.load(name: "fuzz", path: directory + path) else { continue }
        let loaded = Screener(lists: [list])
        if let name = list.entries.first?.names.first?.text { _ = loaded.screen(ScreeningQuery(name: name)) }
        if let document = list.entries.first?.documents.first?.number {
            _ = loaded.screen(address: document)
            _ = loaded.screen(bic: document)
        }
        if let phone = list.entries.first?.phones.first { _ = loaded.screen(phone: phone) }
        if let email = list.entries.first?.emails.first { _ = loaded.screen(email: email) }
        _ = (loaded.screen(bic: lines[0]), loaded.screen(phone: lines[0]), loaded.screen(email: lines[0]))
    }
    return 0
}
