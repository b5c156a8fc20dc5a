import Crypto
import Foundation
import VigilCore

/// A key problem, said with the file or variable it concerns.
public struct KeyError: Error, Sendable, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Keyed pseudonyms for one partner (HMAC-SHA256).
public struct Pseudonymiser: Sendable {
    private let key: SymmetricKey

    /// - Parameter key: at least 32 bytes of secret.
    public init(key: [UInt8]) throws(KeyError) {
        guard key.count >= 32 else { throw KeyError("a pseudonym key needs at least 32 bytes, not \(key.count)") }
        self.key = SymmetricKey(data: key)
    }

    /// `ps:` and 32 hex digits. 128 bits keep collisions out of reach for any list of people.
    public func pseudonym(_ value: String) -> String {
        let mac = HMAC<Crypto.SHA256>.authenticationCode(for: Array(value.utf8), using: key)
        return "ps:" + Array(mac).prefix(16).hex
    }
}

/// Signs alerts with Ed25519 (RFC 8032). Signing is deterministic on Linux (BoringSSL), so a
/// replay with the same key gives byte-identical signed alerts.
public struct AlertSigner: Sendable {
    private let key: Curve25519.Signing.PrivateKey
    /// The first 8 bytes of SHA-256 of the public key, in hex: names the key on each signature.
    public let keyID: String

    public init(privateKey raw: [UInt8]) throws(KeyError) {
        do { key = try Curve25519.Signing.PrivateKey(rawRepresentation: raw) } catch {
            throw KeyError("not an Ed25519 private key (\(raw.count) bytes; 32 expected)")
        }
        keyID = AlertSignature.keyID(of: Array(key.publicKey.rawRepresentation))
    }

    public var publicKey: [UInt8] { Array(key.publicKey.rawRepresentation) }

    /// The alert with its `signature` set: `ed25519:<key id>:<base64>` over the alert's
    /// canonical JSON without a signature.
    public func sign(_ alert: Alert) -> Alert { signed(alert).alert }

    /// The signed alert and its canonical JSON. The JSON is the signed bytes with the signature
    /// put in its place, not a second encoding of the whole alert.
    public func signed(_ alert: Alert) -> (alert: Alert, json: [UInt8]) {
        let (signature, json) = alert.canonicalJSON { unsigned in
            // Signing with a valid key cannot fail; BoringSSL reports only allocation failures.
            let signature = try! key.signature(for: unsigned)
            return "ed25519:\(keyID):\(Data(signature).base64EncodedString())"
        }
        var signed = alert
        signed.signature = signature
        return (signed, json)
    }
}

/// Checks signed alerts as partners receive them: one JSON line each. It holds every public key
/// the unit has signed with (the current one and those retired by ``SharingKeys/rotate(in:)``),
/// and each signature names the key it needs.
public struct AlertVerifier: Sendable {
    private let keys: [String: Curve25519.Signing.PublicKey]
    /// The keys' ids, in the order given.
    public let keyIDs: [String]
    /// The first key's id (the only one's, for a verifier of one key).
    public var keyID: String { keyIDs[0] }

    public init(publicKey raw: [UInt8]) throws(KeyError) { try self.init(publicKeys: [raw]) }

    public init(publicKeys: [[UInt8]]) throws(KeyError) {
        guard !publicKeys.isEmpty else { throw KeyError("no public key given") }
        var keys: [String: Curve25519.Signing.PublicKey] = [:], ids: [String] = []
        for raw in publicKeys {
            let key: Curve25519.Signing.PublicKey
            do { key = try Curve25519.Signing.PublicKey(rawRepresentation: raw) } catch {
                throw KeyError("not an Ed25519 public key (\(raw.count) bytes; 32 expected)")
            }
            let id = AlertSignature.keyID(of: raw)
            if keys.updateValue(key, forKey: id) == nil { ids.append(id) }
        }
        self.keys = keys
        keyIDs = ids
    }

    public enum Verification: Sendable, Equatable {
        /// Validly signed with the key of this id.
        case signed(keyID: String)
        /// Not validly signed, and why.
        case invalid(String)
    }

    /// `nil` when the line is a validly signed alert; otherwise why not.
    public func problem(with line: [UInt8]) -> String? {
        if case .invalid(let problem) = verify(line) { return problem }
        return nil
    }

    /// Which key signed the line, or why it is not a validly signed alert.
    ///
    /// The signed bytes are the line itself without its top-level `"signature"` member. The
    /// canonical encoding writes that member exactly once and nothing else can contain its
    /// key with real quotes (quotes inside strings are escaped), so it is cut out textually
    /// and no re-encoding can change what is checked.
    public func verify(_ line: [UInt8]) -> Verification {
        let marker = Array(#","signature":""#.utf8)
        let starts = line.ranges(of: marker).map(\.lowerBound)
        guard starts.count == 1, let start = starts.first else {
            return .invalid(starts.isEmpty ? "no signature" : "more than one signature member")
        }
        let valueStart = start + marker.count
        guard let end = line[valueStart...].firstIndex(of: UInt8(ascii: "\"")) else { return .invalid("the signature is not a JSON string") }
        let parts = String(decoding: line[valueStart..<end], as: UTF8.self).split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "ed25519" else { return .invalid("the signature is not of the form ed25519:<key id>:<base64>") }
        let id = String(parts[1])
        guard let key = keys[id] else {
            return .invalid(keyIDs.count == 1 ? "signed with key \(id), not with this key (\(keyID))"
                                              : "signed with key \(id), none of the keys given (\(keyIDs.joined(separator: ", ")))")
        }
        guard let signature = Data(base64Encoded: String(parts[2])) else { return .invalid("the signature is not base64") }
        let signed = Array(line[..<start]) + Array(line[(end + 1)...])
        return key.isValidSignature(signature, for: signed) ? .signed(keyID: id) : .invalid("the signature does not match the alert: it was changed after signing")
    }
}

enum AlertSignature {
    static func keyID(of publicKey: [UInt8]) -> String { VigilCore.SHA256.hash(publicKey).prefix(8).hex }
}

/// The keys of a sharing set-up: one Ed25519 signing key for the unit, one pseudonym key per
/// partner that pseudonymises. Keys live in files or the environment, never in pipeline files.
///
/// Files (base64 text) in the keys directory: `signing.key` (private, mode 0600), `signing.pub`,
/// `pseudonym-<partner>.key`. The environment overrides them: `VIGIL_SIGNING_KEY`,
/// `VIGIL_PSEUDONYM_KEY_<PARTNER>` (upper case, `-` and `.` as `_`).
public struct SharingKeys: Sendable {
    public var signer: AlertSigner?
    public var pseudonymisers: [String: Pseudonymiser]
    /// What could not be loaded, one line each (a missing or malformed key).
    public var problems: [String]

    public init(signer: AlertSigner? = nil, pseudonymisers: [String: Pseudonymiser] = [:], problems: [String] = []) {
        self.signer = signer
        self.pseudonymisers = pseudonymisers
        self.problems = problems
    }

    public static let signingFile = "signing.key"
    public static let publicFile = "signing.pub"
    public static func pseudonymFile(_ partner: String) -> String { "pseudonym-\(partner).key" }
    public static func pseudonymVariable(_ partner: String) -> String {
        "VIGIL_PSEUDONYM_KEY_" + partner.uppercased().map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
    }

    /// Loads the signing key and the pseudonym keys of `partners` (those that pseudonymise).
    public static func load(directory: String?, partners: [PartnerPolicy],
                            environment: [String: String] = ProcessInfo.processInfo.environment) -> SharingKeys {
        var keys = SharingKeys()
        func read(variable: String, file: String) -> Result<[UInt8], KeyError>? {
            if let text = environment[variable] {
                return decode(text).map { .success($0) } ?? .failure(KeyError("\(variable) is not base64"))
            }
            guard let directory else { return nil }
            let path = (directory as NSString).appendingPathComponent(file)
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
            return decode(text).map { .success($0) } ?? .failure(KeyError("\(path) is not base64"))
        }
        func hint(_ extra: String = "") -> String { "create it with `vigil keys generate --out \(directory ?? "keys")\(extra)`" }
        switch read(variable: "VIGIL_SIGNING_KEY", file: signingFile) {
        case .success(let raw)?:
            do { keys.signer = try AlertSigner(privateKey: raw) } catch { keys.problems.append("signing key: \(error)") }
        case .failure(let error)?: keys.problems.append("signing key: \(error)")
        case nil: keys.problems.append("no signing key (VIGIL_SIGNING_KEY or \(directory ?? "<keys dir>")/\(signingFile)): \(hint())")
        }
        for partner in partners where partner.pseudonymises {
            switch read(variable: pseudonymVariable(partner.name), file: pseudonymFile(partner.name)) {
            case .success(let raw)?:
                do { keys.pseudonymisers[partner.name] = try Pseudonymiser(key: raw) } catch {
                    keys.problems.append("pseudonym key of partner \(partner.name): \(error)")
                }
            case .failure(let error)?: keys.problems.append("pseudonym key of partner \(partner.name): \(error)")
            case nil:
                keys.problems.append("no pseudonym key for partner \(partner.name) (\(pseudonymVariable(partner.name)) or \(directory ?? "<keys dir>")/\(pseudonymFile(partner.name))): \(hint(" --partner \(partner.name)"))")
            }
        }
        return keys
    }

    private static func decode(_ text: String) -> [UInt8]? {
        Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)).map(Array.init)
    }

    /// Writes a new signing key pair and pseudonym keys for `partners` into `directory`, keeping
    /// any key already there (replacing a key would orphan every signature and pseudonym made
    /// with it). Returns the files written.
    public static func generate(in directory: String, partners: [String]) throws(KeyError) -> [String] {
        let fm = FileManager.default
        do { try fm.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) } catch {
            throw KeyError("cannot create \(directory): \(error.localizedDescription)")
        }
        var written: [String] = []
        func write(_ file: String, _ bytes: [UInt8], mode: Int) throws(KeyError) {
            let path = (directory as NSString).appendingPathComponent(file)
            guard !fm.fileExists(atPath: path) else { return }
            try writeKey(bytes, to: path, mode: mode)
            written.append(path)
        }
        let signingPath = (directory as NSString).appendingPathComponent(signingFile)
        if fm.fileExists(atPath: signingPath) {
            // Keep the pair consistent: the public key is derived again from the private one.
            let existing = load(directory: directory, partners: [], environment: [:])
            if let signer = existing.signer { try write(publicFile, signer.publicKey, mode: 0o644) }
        } else {
            let key = Curve25519.Signing.PrivateKey()
            try write(signingFile, Array(key.rawRepresentation), mode: 0o600)
            try write(publicFile, Array(key.publicKey.rawRepresentation), mode: 0o644)
        }
        for partner in partners {
            try write(pseudonymFile(partner), Array(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }), mode: 0o600)
        }
        return written
    }

    /// Writes a key file: base64 and a newline, with the given permissions.
    private static func writeKey(_ bytes: [UInt8], to path: String, mode: Int) throws(KeyError) {
        guard FileManager.default.createFile(atPath: path, contents: Data((Data(bytes).base64EncodedString() + "\n").utf8),
                                             attributes: [.posixPermissions: mode]) else {
            throw KeyError("cannot write \(path): \(FileProblem.writeReason(path, otherwise: "unknown reason"))")
        }
    }

    /// Replaces a key file: the new one is written beside it and renamed into place, so a reader
    /// sees the old key or the new one, never half a file.
    private static func replaceKey(_ bytes: [UInt8], at path: String, mode: Int) throws(KeyError) {
        try writeKey(bytes, to: path + ".new", mode: mode)
        guard rename(path + ".new", path) == 0 else { throw KeyError("cannot replace \(path): \(String(cString: strerror(errno)))") }
    }

    /// Reads a public key file (`signing.pub`).
    public static func publicKey(file: String) throws(KeyError) -> AlertVerifier {
        try AlertVerifier(publicKey: publicKeyBytes(file: file))
    }

    /// Reads public keys for verifying: each path a key file, or a folder whose `*.pub` files are
    /// all read (`signing.pub` and the retired `signing-<key id>.pub` beside it).
    public static func publicKeys(_ paths: [String]) throws(KeyError) -> AlertVerifier {
        var keys: [[UInt8]] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw KeyError("no such file: \(path)") }
            guard isDirectory.boolValue else { keys.append(try publicKeyBytes(file: path)); continue }
            let files = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".pub") }.sorted()
            guard !files.isEmpty else { throw KeyError("no public key (*.pub) in \(path)") }
            for file in files { keys.append(try publicKeyBytes(file: (path as NSString).appendingPathComponent(file))) }
        }
        return try AlertVerifier(publicKeys: keys)
    }

    private static func publicKeyBytes(file: String) throws(KeyError) -> [UInt8] {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw KeyError("cannot read \(file): \(FileProblem.reason(file, unreadable: "not UTF-8 text"))") }
        guard let raw = decode(text) else { throw KeyError("\(file) is not base64") }
        return raw
    }

    /// The file a retired signing key's public half is kept in, beside `signing.pub`.
    public static func retiredPublicFile(_ keyID: String) -> String { "signing-\(keyID).pub" }

    /// Replaces the signing key in `directory` with a new one. The old public key stays beside
    /// the new one as `signing-<key id>.pub`, so that alerts it signed can still be verified;
    /// the old private key is gone (a key is rotated because it is old or may be known to
    /// others: keeping it would defeat that). Pseudonym keys are not touched: they are rotated
    /// apart (``rotatePseudonym(of:in:)``), since a new one changes what partners can link.
    ///
    /// The new key pair is written beside the old one and renamed into place, the private key
    /// first: a reader sees the old pair or the new key, never half a file.
    /// - Returns: the retired key's id and the new one's.
    public static func rotate(in directory: String) throws(KeyError) -> (retired: String, current: String) {
        let existing = load(directory: directory, partners: [], environment: [:])
        guard let old = existing.signer else {
            throw KeyError("no signing key to rotate in \(directory) (\(existing.problems.joined(separator: "; ")))")
        }
        func path(_ file: String) -> String { (directory as NSString).appendingPathComponent(file) }
        try writeKey(old.publicKey, to: path(retiredPublicFile(old.keyID)), mode: 0o644)
        let key = Curve25519.Signing.PrivateKey()
        try replaceKey(Array(key.rawRepresentation), at: path(signingFile), mode: 0o600)
        try replaceKey(Array(key.publicKey.rawRepresentation), at: path(publicFile), mode: 0o644)
        return (old.keyID, AlertSignature.keyID(of: Array(key.publicKey.rawRepresentation)))
    }

    /// The file a partner's retired pseudonym key is kept in: `pseudonym-<partner>.<key id>.retired`,
    /// the id being the first 8 bytes of the key's SHA-256 in hex (which reveals nothing of a
    /// 256-bit key).
    public static func retiredPseudonymFile(_ partner: String, keyID: String) -> String { "pseudonym-\(partner).\(keyID).retired" }

    /// Replaces a partner's pseudonym key with a new one: from then on every subject has a new
    /// pseudonym in that partner's copies, so the partner can no longer link new alerts to old
    /// ones (what rotating is for: a long-lived pseudonym becomes a profile). The old key is kept
    /// beside it as ``retiredPseudonymFile(_:keyID:)``, readable by the owner only, so the unit
    /// can still say which subject an old pseudonym stood for when a partner asks; deleting it
    /// makes the old pseudonyms unresolvable.
    /// - Returns: the retired key's id and the new one's.
    public static func rotatePseudonym(of partner: String, in directory: String) throws(KeyError) -> (retired: String, current: String) {
        func path(_ file: String) -> String { (directory as NSString).appendingPathComponent(file) }
        let current = path(pseudonymFile(partner))
        guard let text = try? String(contentsOfFile: current, encoding: .utf8) else {
            throw KeyError("no pseudonym key of partner \(partner) to rotate: cannot read \(current)")
        }
        guard let old = decode(text), old.count >= 32 else { throw KeyError("\(current) is not a pseudonym key (base64 of 32 bytes or more)") }
        func keyID(_ key: [UInt8]) -> String { Array(Crypto.SHA256.hash(data: key)).prefix(8).hex }
        try writeKey(old, to: path(retiredPseudonymFile(partner, keyID: keyID(old))), mode: 0o600)
        let key = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
        try replaceKey(key, at: current, mode: 0o600)
        return (keyID(old), keyID(key))
    }
}
