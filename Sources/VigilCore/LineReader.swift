import Foundation

/// Reads a file line by line in 1 MiB chunks, so memory does not grow with the file.
public final class LineReader {
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false

    public init(_ handle: FileHandle) { self.handle = handle }
    deinit { try? handle.close() }

    /// The next line without its `\n` (and `\r`), or `nil` at the end of the file.
    public func next() throws -> ArraySlice<UInt8>? {
        while true {
            let found = buffer.withUnsafeBufferPointer { b -> Int? in
                guard start < b.count, let p = memchr(b.baseAddress! + start, 0x0A, b.count - start) else { return nil }
                return b.baseAddress!.distance(to: p.assumingMemoryBound(to: UInt8.self))
            }
            if let nl = found {
                var line = buffer[start..<nl]
                if line.last == 0x0D { line = line.dropLast() }
                start = nl + 1
                return line
            }
            if atEnd {
                guard start < buffer.count else { return nil }
                defer { start = buffer.count }
                return buffer[start...]
            }
            buffer.removeFirst(start)
            start = 0
            let chunk = try handle.read(upToCount: 1 << 20) ?? Data()
            if chunk.isEmpty { atEnd = true } else { buffer += chunk }
        }
    }
}
