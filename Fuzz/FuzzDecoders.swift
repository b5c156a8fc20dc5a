// libFuzzer entry point for the feed decoders: built by scripts/fuzz.sh with
// `-sanitize=fuzzer,address`, never part of the package build.
//
// Every input is decoded as each format. A decoder may accept or refuse it; what libFuzzer
// and AddressSanitizer catch is anything else: a trap (index out of range, arithmetic
// overflow), a memory error, a hang (-timeout) or unbounded memory (-rss_limit_mb).
import VigilFormats

private let formats: [FeedFormat?] = [nil, .paxlst, .pnrgov, .iso20022, .mt103, .mt202, .mt940, .fedwire, .csv]
private let options = DecodeOptions(cardHashKey: Array("fuzz-key".utf8),
                                    csv: CSVMapping(columns: ["ts": "date", "amount": "amount", "debtor.account": "from", "creditor.account": "to"]))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDecoders(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    for format in formats {
        let messages = (format ?? FeedFormat.detect(bytes)).map { FeedDecoder.split(bytes, as: $0) } ?? [FeedMessage(bytes: bytes)]
        for message in messages {
            _ = try? FeedDecoder.decode(message.bytes, as: format, options: options)
        }
    }
    return 0
}
