import Foundation

/// Why a file could not be read, in the words of an error message. Foundation's own reason
/// ("The file couldn't be opened") says nothing a user can act on, and a folder given where a
/// file belongs (`vigil parse fixtures/`) was reported as a permission problem.
public enum FileProblem {
    /// `no such file`, `is a folder, not a file`, `permission denied`, or `unreadable` when the
    /// file exists and may be read yet was not (what the reader itself found: not UTF-8 text, …).
    public static func reason(_ path: String, unreadable: String = "cannot be read") -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return "no such file" }
        if isDirectory.boolValue { return "is a folder, not a file" }
        return FileManager.default.isReadableFile(atPath: path) ? unreadable : "permission denied"
    }
}

extension FileProblem {
    /// Why a file could not be written: `no such folder '…'`, `is a folder, not a file`,
    /// `permission denied`, or else `otherwise` (the writer's own error). Foundation says "The
    /// file doesn't exist" of a file being created in a folder that does not.
    public static func writeReason(_ path: String, otherwise: @autoclosure () -> String) -> String {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDirectory) {
            if isDirectory.boolValue { return "is a folder, not a file" }
            return fm.isWritableFile(atPath: path) ? otherwise() : "permission denied"
        }
        let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard fm.fileExists(atPath: parent, isDirectory: &isDirectory) else { return "no such folder '\(parent)'" }
        guard isDirectory.boolValue else { return "'\(parent)' is a file, not a folder" }
        return fm.isWritableFile(atPath: parent) ? otherwise() : "permission denied"
    }
}
