import CZlib
import Foundation
import VigilCore
import VigilKafka

/// The Vigil recording format (`.vgr`), version 1: Kafka messages with everything needed to
/// replay them — topic, partition, offset, timestamp, key, headers, value.
///
///     file   := header block*
///     header := "VIGILREC" (8 bytes) | version: u8 = 1 | 7 zero bytes
///     block  := "VB" | codec: u8 (0 stored, 1 deflate) | count: u32 | stored: u32 | raw: u32
///               | crc32(payload): u32 | payload (stored bytes)
///     record := topic: bytes | partition: zigzag varint | offset: zigzag varint
///               | timestamp: zigzag varint (−1 = none) | key: optional bytes | value: bytes
///               | header count: varint | (name: bytes | value: optional bytes)*
///     bytes  := length: varint | data;  optional bytes := length + 1: varint (0 = null) | data
///
/// All integers are little-endian. Records are grouped into blocks, compressed together; each
/// block carries its own CRC-32, so a reader detects corruption and a crash mid-write leaves a
/// readable prefix (every complete block). Appending opens the file, drops any torn tail, and
/// adds blocks after the last good one.
public enum RecordingFormat {
    public static let magic = Array("VIGILREC".utf8)
    public static let version: UInt8 = 1
    static let headerSize = 16
    static let blockMagic = Array("VB".utf8)
    static let blockHeaderSize = 2 + 1 + 4 * 4

    /// Whether the bytes start like a recording (used by `--format auto`).
    public static func isRecording(_ prefix: some Collection<UInt8>) -> Bool {
        prefix.count >= magic.count && Array(prefix.prefix(magic.count)) == magic
    }
}

/// A problem reading a recording, with the byte position where it was found.
public struct RecordingError: Error, Sendable, CustomStringConvertible, Equatable {
    public var file: String
    public var byteOffset: Int
    /// Records read successfully before the problem.
    public var recordsRead: Int
    public var message: String

    public var description: String {
        "\(file): byte \(byteOffset): \(message) (after \(recordsRead) good records)"
    }

    /// The file cannot be opened: missing, or not readable.
    static func unreadable(_ path: String) -> RecordingError {
        RecordingError(file: path, byteOffset: 0, recordsRead: 0,
                       message: FileProblem.reason(path))
    }
}

// MARK: - Writer

/// Writes a recording. Not thread-safe; one writer per file.
public final class RecordingWriter {
    private let handle: FileHandle
    private var pending: [UInt8] = []
    private var pendingCount = 0
    /// Records per block before it is written. Default: 1,000.
    public var blockRecords = 1_000
    public private(set) var recordsWritten = 0

    /// Creates the file, or with `append`, continues an existing one after its last good block.
    public init(path: String, append: Bool = false) throws {
        let fm = FileManager.default
        if append, fm.fileExists(atPath: path) {
            let goodEnd = try RecordingReader.validPrefixLength(path: path)
            handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
            try handle.truncate(atOffset: UInt64(goodEnd))
            try handle.seekToEnd()
        } else {
            guard fm.createFile(atPath: path, contents: Data(RecordingFormat.magic + [RecordingFormat.version] + [UInt8](repeating: 0, count: 7))) else {
                throw RecordingError(file: path, byteOffset: 0, recordsRead: 0, message: "cannot create the file: " + FileProblem.writeReason(path, otherwise: "unknown reason"))
            }
            handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.seekToEnd()
        }
    }

    public func append(_ m: ConsumedMessage) throws {
        Varint.putBytes(Array(m.topic.utf8), into: &pending)
        Varint.putSigned(Int64(m.partition), into: &pending)
        Varint.putSigned(m.offset, into: &pending)
        Varint.putSigned(m.timestampMilliseconds ?? -1, into: &pending)
        Varint.putOptionalBytes(m.key, into: &pending)
        Varint.putBytes(m.value, into: &pending)
        Varint.put(UInt64(m.headers.count), into: &pending)
        for h in m.headers {
            Varint.putBytes(Array(h.name.utf8), into: &pending)
            Varint.putOptionalBytes(h.value, into: &pending)
        }
        pendingCount += 1
        recordsWritten += 1
        if pendingCount >= blockRecords { try flush() }
    }

    /// Writes buffered records as one block and syncs it to disk.
    public func flush() throws {
        guard pendingCount > 0 else { return }
        let compressed = Deflate.compress(pending)
        let (codec, payload): (UInt8, [UInt8]) = compressed.count < pending.count ? (1, compressed) : (0, pending)
        var block = RecordingFormat.blockMagic + [codec]
        Varint.putFixed32(UInt32(pendingCount), into: &block)
        Varint.putFixed32(UInt32(payload.count), into: &block)
        Varint.putFixed32(UInt32(pending.count), into: &block)
        Varint.putFixed32(CRC32.of(payload), into: &block)
        try handle.write(contentsOf: Data(block + payload))
        try handle.synchronize()
        pending.removeAll(keepingCapacity: true)
        pendingCount = 0
    }

    public func close() throws {
        try flush()
        try handle.close()
    }
}

// MARK: - Reader

/// Reads a recording block by block; memory holds one block at a time.
public final class RecordingReader {
    public let path: String
    private let handle: FileHandle
    private var position: Int
    public private(set) var recordsRead = 0

    public init(path: String) throws {
        self.path = path
        guard let h = FileHandle(forReadingAtPath: path) else { throw RecordingError.unreadable(path) }
        handle = h
        let header = [UInt8](try h.read(upToCount: RecordingFormat.headerSize) ?? Data())
        guard header.count == RecordingFormat.headerSize, RecordingFormat.isRecording(header) else {
            throw RecordingError(file: path, byteOffset: 0, recordsRead: 0, message: "not a Vigil recording (no VIGILREC header)")
        }
        guard header[8] == RecordingFormat.version else {
            throw RecordingError(file: path, byteOffset: 8, recordsRead: 0,
                                 message: "recording format version \(header[8]) is not supported (this Vigil reads version \(RecordingFormat.version))")
        }
        position = RecordingFormat.headerSize
    }

    deinit { try? handle.close() }

    /// The next block's messages; `nil` at a clean end of file.
    /// - Throws: ``RecordingError`` for a torn or corrupted block (everything before it was good).
    public func nextBlock() throws(RecordingError) -> [ConsumedMessage]? {
        let start = position
        func fail(_ message: String) -> RecordingError {
            RecordingError(file: path, byteOffset: start, recordsRead: recordsRead, message: message)
        }
        let head = [UInt8]((try? handle.read(upToCount: RecordingFormat.blockHeaderSize)) ?? Data())
        if head.isEmpty { return nil }
        guard head.count == RecordingFormat.blockHeaderSize else { throw fail("truncated block header (the file ends mid-write)") }
        guard Array(head[0..<2]) == RecordingFormat.blockMagic else { throw fail("corrupted: no block marker") }
        let codec = head[2]
        var cursor = 3
        let count = Int(Varint.fixed32(head, &cursor)), stored = Int(Varint.fixed32(head, &cursor))
        let raw = Int(Varint.fixed32(head, &cursor)), crc = Varint.fixed32(head, &cursor)
        guard stored <= 256 << 20, raw <= 1 << 30 else { throw fail("corrupted: block sizes out of range") }
        let payload = [UInt8]((try? handle.read(upToCount: stored)) ?? Data())
        guard payload.count == stored else { throw fail("truncated block: \(payload.count) of \(stored) bytes (the file ends mid-write)") }
        guard CRC32.of(payload) == crc else { throw fail("corrupted: block checksum mismatch") }
        let bytes: [UInt8]
        switch codec {
        case 0: bytes = payload
        case 1:
            guard let inflated = Deflate.decompress(payload, expectedSize: raw) else { throw fail("corrupted: block does not decompress") }
            bytes = inflated
        default: throw fail("unknown block codec \(codec)")
        }
        var messages: [ConsumedMessage] = []
        messages.reserveCapacity(count)
        var i = 0
        do {
            for _ in 0..<count {
                let topic = String(decoding: try Varint.bytes(bytes, &i), as: UTF8.self)
                let partition = Int32(truncatingIfNeeded: try Varint.signed(bytes, &i))
                let offset = try Varint.signed(bytes, &i)
                let ts = try Varint.signed(bytes, &i)
                let key = try Varint.optionalBytes(bytes, &i)
                let value = try Varint.bytes(bytes, &i)
                let headerCount = Int(try Varint.unsigned(bytes, &i))
                var headers: [KafkaHeader] = []
                for _ in 0..<headerCount {
                    let name = String(decoding: try Varint.bytes(bytes, &i), as: UTF8.self)
                    headers.append(KafkaHeader(name: name, value: try Varint.optionalBytes(bytes, &i)))
                }
                messages.append(ConsumedMessage(topic: topic, partition: partition, offset: offset,
                                                timestampMilliseconds: ts >= 0 ? ts : nil, key: key, value: value, headers: headers))
            }
        } catch {
            throw fail("corrupted: a record inside the block does not parse")
        }
        position = start + RecordingFormat.blockHeaderSize + stored
        recordsRead += count
        return messages
    }

    /// The length of the longest readable prefix (header plus complete, valid blocks).
    static func validPrefixLength(path: String) throws -> Int {
        let reader = try RecordingReader(path: path)
        while true {
            do {
                guard try reader.nextBlock() != nil else { break }
            } catch {
                break
            }
        }
        return reader.position
    }
}

// MARK: - Encoding helpers

enum VarintError: Error { case truncated }

enum Varint {
    static func put(_ v: UInt64, into out: inout [UInt8]) {
        var v = v
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }
    static func putSigned(_ v: Int64, into out: inout [UInt8]) { put(UInt64(bitPattern: (v << 1) ^ (v >> 63)), into: &out) }
    static func putBytes(_ b: [UInt8], into out: inout [UInt8]) {
        put(UInt64(b.count), into: &out)
        out += b
    }
    static func putOptionalBytes(_ b: [UInt8]?, into out: inout [UInt8]) {
        guard let b else { return put(0, into: &out) }
        put(UInt64(b.count) + 1, into: &out)
        out += b
    }
    static func putFixed32(_ v: UInt32, into out: inout [UInt8]) {
        for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: v >> UInt32(shift))) }
    }

    static func unsigned(_ b: [UInt8], _ i: inout Int) throws -> UInt64 {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard i < b.count, shift < 64 else { throw VarintError.truncated }
            let byte = b[i]
            i += 1
            v |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 { return v }
            shift += 7
        }
    }
    static func signed(_ b: [UInt8], _ i: inout Int) throws -> Int64 {
        let u = try unsigned(b, &i)
        return Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }
    static func bytes(_ b: [UInt8], _ i: inout Int) throws -> [UInt8] {
        let n = Int(try unsigned(b, &i))
        guard n >= 0, i + n <= b.count else { throw VarintError.truncated }
        defer { i += n }
        return Array(b[i..<i + n])
    }
    static func optionalBytes(_ b: [UInt8], _ i: inout Int) throws -> [UInt8]? {
        let n = Int(try unsigned(b, &i))
        guard n > 0 else { return nil }
        guard i + n - 1 <= b.count else { throw VarintError.truncated }
        defer { i += n - 1 }
        return Array(b[i..<i + n - 1])
    }
    static func fixed32(_ b: [UInt8], _ i: inout Int) -> UInt32 {
        defer { i += 4 }
        return UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }
}

enum Deflate {
    static func compress(_ input: [UInt8]) -> [UInt8] {
        var size = compressBound(uLong(input.count))
        var out = [UInt8](repeating: 0, count: Int(size))
        let rc = out.withUnsafeMutableBufferPointer { o in
            input.withUnsafeBufferPointer { i in compress2(o.baseAddress, &size, i.baseAddress, uLong(i.count), 6) }
        }
        precondition(rc == Z_OK, "zlib compress2 failed: \(rc)")
        return Array(out.prefix(Int(size)))
    }

    static func decompress(_ input: [UInt8], expectedSize: Int) -> [UInt8]? {
        var size = uLongf(expectedSize)
        var out = [UInt8](repeating: 0, count: max(expectedSize, 1))
        let rc = out.withUnsafeMutableBufferPointer { o in
            input.withUnsafeBufferPointer { i in uncompress(o.baseAddress, &size, i.baseAddress, uLong(i.count)) }
        }
        guard rc == Z_OK, Int(size) == expectedSize else { return nil }
        return Array(out.prefix(expectedSize))
    }
}

/// Whole gzip files (RFC 1952), for data sets shipped compressed (River's `shuttle.csv.gz`).
public enum Gzip {
    public static func isGzip(_ bytes: [UInt8]) -> Bool { bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B }

    /// The decompressed bytes, or `nil` when the data is not a valid gzip stream.
    public static func decompress(_ input: [UInt8]) -> [UInt8]? {
        var stream = z_stream()
        // 16 + 15: a gzip header and trailer around a deflate stream with a 32 KiB window.
        guard inflateInit2_(&stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { inflateEnd(&stream) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        return input.withUnsafeBufferPointer { i -> [UInt8]? in
            stream.next_in = UnsafeMutablePointer(mutating: i.baseAddress)
            stream.avail_in = uInt(i.count)
            while true {
                let rc = chunk.withUnsafeMutableBufferPointer { c -> Int32 in
                    stream.next_out = c.baseAddress
                    stream.avail_out = uInt(c.count)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                out.append(contentsOf: chunk[0..<(chunk.count - Int(stream.avail_out))])
                if rc == Z_STREAM_END { return out }
                guard rc == Z_OK else { return nil }
                if stream.avail_in == 0 && stream.avail_out != 0 { return nil }  // truncated
            }
        }
    }
}
