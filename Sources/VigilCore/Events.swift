import Foundation

/// A party to a payment: debtor or creditor.
public struct Party: Sendable, Hashable, Codable {
    /// Account identifier (IBAN, account number, wallet). Required.
    public var account: String
    public var name: String?
    /// ISO 3166-1 alpha-2.
    public var country: String?

    /// What most parties lack: canonical transactions name an account, often a name and a
    /// country, and little else. Held apart, in a shared copy-on-write box that is absent when
    /// all of it is: inline, these eight optional strings made a party 176 bytes, copied whole
    /// several times per decoded transaction (a sixth of decoding was `memmove`) and released
    /// string by string when it went; now a party is 56 bytes, and an ISO 20022 party that has
    /// a BIC or an address pays one allocation for them.
    @usableFromInline struct Details: Hashable, Sendable {
        var bic, institution, address, dob, idNumber, phone, email, cardHash: String?
        static let none = Details()
    }

    @usableFromInline final class DetailsBox: @unchecked Sendable {
        @usableFromInline @exclusivity(unchecked) var details: Details
        init(_ details: Details) { self.details = details }
    }

    @usableFromInline var more: DetailsBox?

    /// The details, read whole (``Details/none`` when the party has none).
    var details: Details { more?.details ?? .none }

    /// Changes one of the details, copying the box first when another party shares it.
    private mutating func update(_ change: (inout Details) -> Void) {
        if more == nil {
            var d = Details()
            change(&d)
            if d != .none { more = DetailsBox(d) }
        } else {
            if !isKnownUniquelyReferenced(&more!) { more = DetailsBox(more!.details) }
            change(&more!.details)
        }
    }

    private func detail(_ field: KeyPath<Details, String?>) -> String? { more?.details[keyPath: field] }
    private mutating func set(_ field: WritableKeyPath<Details, String?>, _ value: String?) { update { $0[keyPath: field] = value } }

    public var bic: String? { get { detail(\.bic) } set { set(\.bic, newValue) } }
    public var institution: String? { get { detail(\.institution) } set { set(\.institution, newValue) } }
    public var address: String? { get { detail(\.address) } set { set(\.address, newValue) } }
    /// Identity details a bank may know of its customer (ISO 20022 `PrvtId`, contact details;
    /// a card payment's card): what links a financial party to a traveller.
    /// Date of birth, `YYYY-MM-DD`.
    public var dob: String? { get { detail(\.dob) } set { set(\.dob, newValue) } }
    /// Number of an identity document (passport, national identity card).
    public var idNumber: String? { get { detail(\.idNumber) } set { set(\.idNumber, newValue) } }
    public var phone: String? { get { detail(\.phone) } set { set(\.phone, newValue) } }
    public var email: String? { get { detail(\.email) } set { set(\.email, newValue) } }
    /// Keyed HMAC-SHA256 of the card number, with the same key as PNR card hashes (`formats.card-hash-key`).
    public var cardHash: String? { get { detail(\.cardHash) } set { set(\.cardHash, newValue) } }

    public init(account: String, name: String? = nil, country: String? = nil, bic: String? = nil,
                institution: String? = nil, address: String? = nil, dob: String? = nil, idNumber: String? = nil,
                phone: String? = nil, email: String? = nil, cardHash: String? = nil) {
        self.account = account
        self.name = name
        self.country = country
        let d = Details(bic: bic, institution: institution, address: address, dob: dob, idNumber: idNumber, phone: phone,
                        email: email, cardHash: cardHash)
        if d != .none { more = DetailsBox(d) }
    }

    /// Equal parties have equal fields, however their details are held (a box emptied by
    /// setting its fields to `nil` equals none).
    public static func == (a: Party, b: Party) -> Bool {
        a.account == b.account && a.name == b.name && a.country == b.country && (a.more === b.more || a.details == b.details)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(account)
        hasher.combine(name)
        hasher.combine(country)
        hasher.combine(details)
    }

    private enum CodingKeys: String, CodingKey {
        case account, name, country, bic, institution, address, dob, idNumber, phone, email, cardHash
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func text(_ key: CodingKeys) throws -> String? { try c.decodeIfPresent(String.self, forKey: key) }
        self.init(account: try c.decode(String.self, forKey: .account), name: try text(.name), country: try text(.country),
                  bic: try text(.bic), institution: try text(.institution), address: try text(.address), dob: try text(.dob),
                  idNumber: try text(.idNumber), phone: try text(.phone), email: try text(.email), cardHash: try text(.cardHash))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(account, forKey: .account)
        try c.encodeIfPresent(name, forKey: .name)
        try c.encodeIfPresent(country, forKey: .country)
        let d = details
        try c.encodeIfPresent(d.bic, forKey: .bic)
        try c.encodeIfPresent(d.institution, forKey: .institution)
        try c.encodeIfPresent(d.address, forKey: .address)
        try c.encodeIfPresent(d.dob, forKey: .dob)
        try c.encodeIfPresent(d.idNumber, forKey: .idNumber)
        try c.encodeIfPresent(d.phone, forKey: .phone)
        try c.encodeIfPresent(d.email, forKey: .email)
        try c.encodeIfPresent(d.cardHash, forKey: .cardHash)
    }
}

/// Where an event came from (decoder, sending institution, file).
public struct EventSource: Sendable, Hashable, Codable {
    public var format: String?
    public var institution: String?
    public var file: String?

    public init(format: String? = nil, institution: String? = nil, file: String? = nil) {
        self.format = format
        self.institution = institution
        self.file = file
    }
}

/// The canonical transaction event (topic `fin.transactions`); see PRODUCT.md "Canonical events".
///
/// A value type whose fields live in one shared, copy-on-write box: a transaction is handed from
/// decoding to every detection stage and kept in state, and copying its two dozen strings at each
/// step was a fifth of the pipeline's time. A copy is now one reference; a change copies the box
/// first when it is shared.
public struct Transaction: Sendable, Hashable, Codable {
    @usableFromInline struct Fields: Hashable {
        @usableFromInline var id: String
        @usableFromInline var ts: EventTime
        @usableFromInline var amount: Decimal
        @usableFromInline var currency: String
        @usableFromInline var channel: String?
        @usableFromInline var debtor: Party
        @usableFromInline var creditor: Party
        @usableFromInline var reference: String?
        @usableFromInline var source: EventSource?
    }

    // Mutated only through `unique()`, that is only when no other value shares it; so accesses
    // cannot overlap and need no run-time exclusivity checks (they showed in profiles).
    // The accessors are inlinable so that a rule reading `tx.debtor.account` in another module
    // loads that one string: through an opaque read accessor it copied the whole party.
    @usableFromInline final class Box: @unchecked Sendable {
        @usableFromInline @exclusivity(unchecked) var fields: Fields
        @usableFromInline init(_ fields: Fields) { self.fields = fields }
        /// The fields written straight into the box: built on the stack first, they (two
        /// parties of 176 bytes among them) were copied once more on the way in.
        init(id: String, ts: EventTime, amount: Decimal, currency: String, channel: String?, debtor: consuming Party,
             creditor: consuming Party, reference: String?, source: EventSource?) {
            fields = Fields(id: id, ts: ts, amount: amount, currency: currency, channel: channel, debtor: debtor, creditor: creditor,
                            reference: reference, source: source)
        }
    }

    @usableFromInline var box: Box

    @usableFromInline mutating func unique() -> Box {
        if !isKnownUniquelyReferenced(&box) { box = Box(box.fields) }
        return box
    }

    /// Unique id (UETR, end-to-end id, bank reference).
    @inlinable public var id: String {
        _read { yield box.fields.id }
        _modify { yield &unique().fields.id }
    }
    /// Event time.
    @inlinable public var ts: EventTime {
        get { box.fields.ts }
        set { unique().fields.ts = newValue }
    }
    /// Decimal amount, exact (never a binary float). JSON accepts a string or a number.
    @inlinable public var amount: Decimal {
        get { box.fields.amount }
        set { unique().fields.amount = newValue }
    }
    /// ISO 4217 code, upper case.
    @inlinable public var currency: String {
        _read { yield box.fields.currency }
        _modify { yield &unique().fields.currency }
    }
    /// `cash`, `wire`, `card`, `ach`, `mobile`, `cheque`, `crypto` or `other`.
    @inlinable public var channel: String? {
        _read { yield box.fields.channel }
        _modify { yield &unique().fields.channel }
    }
    @inlinable public var debtor: Party {
        _read { yield box.fields.debtor }
        _modify { yield &unique().fields.debtor }
    }
    @inlinable public var creditor: Party {
        _read { yield box.fields.creditor }
        _modify { yield &unique().fields.creditor }
    }
    /// Remittance information.
    @inlinable public var reference: String? {
        _read { yield box.fields.reference }
        _modify { yield &unique().fields.reference }
    }
    @inlinable public var source: EventSource? {
        _read { yield box.fields.source }
        _modify { yield &unique().fields.source }
    }

    public static func == (a: Transaction, b: Transaction) -> Bool { a.box === b.box || a.box.fields == b.box.fields }
    public func hash(into hasher: inout Hasher) { box.fields.hash(into: &hasher) }

    /// The channels PRODUCT.md names.
    public static let channels: Set<String> = ["cash", "wire", "card", "ach", "mobile", "cheque", "crypto", "other"]

    public init(id: String, ts: EventTime, amount: Decimal, currency: String, channel: String? = nil,
                debtor: Party, creditor: Party, reference: String? = nil, source: EventSource? = nil) {
        box = Box(id: id, ts: ts, amount: amount, currency: currency, channel: channel, debtor: debtor, creditor: creditor,
                  reference: reference, source: source)
    }

    private enum CodingKeys: String, CodingKey {
        case id, ts, amount, currency, channel, debtor, creditor, reference, source
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(id: try c.decode(String.self, forKey: .id), ts: try c.decode(EventTime.self, forKey: .ts),
                  amount: try DecimalText.decode(c, .amount), currency: try c.decode(String.self, forKey: .currency),
                  channel: try c.decodeIfPresent(String.self, forKey: .channel), debtor: try c.decode(Party.self, forKey: .debtor),
                  creditor: try c.decode(Party.self, forKey: .creditor),
                  reference: try c.decodeIfPresent(String.self, forKey: .reference),
                  source: try c.decodeIfPresent(EventSource.self, forKey: .source))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(ts, forKey: .ts)
        // As a string: consumers in any language read it without going through a binary float.
        try c.encode(DecimalText.format(amount), forKey: .amount)
        try c.encode(currency, forKey: .currency)
        try c.encodeIfPresent(channel, forKey: .channel)
        try c.encode(debtor, forKey: .debtor)
        try c.encode(creditor, forKey: .creditor)
        try c.encodeIfPresent(reference, forKey: .reference)
        try c.encodeIfPresent(source, forKey: .source)
    }
}

/// Decimal amounts in canonical JSON: a string (`"9500.00"`) or a JSON number (`9500`), parsed
/// exactly; written back as a plain string without exponent.
public enum DecimalText {
    private static let posix = Locale(identifier: "en_US_POSIX")

    /// Parses `-?digits[.digits]`; rejects exponents, spaces, `NaN` and empty strings.
    public static func parse(_ text: String) -> Decimal? {
        var text = text
        return text.withUTF8 { parse($0) }
    }

    /// Parses a JSON number (which may have an exponent) exactly.
    static func parseJSONNumber(_ text: String) -> Decimal? {
        if let d = parse(text) { return d }
        return Decimal(string: text, locale: posix)
    }

    /// Builds the value from its digits directly (the common case: up to 18 significant digits);
    /// longer numbers go through Foundation's parser.
    package static func parse(_ b: UnsafeBufferPointer<UInt8>) -> Decimal? {
        var i = 0
        let negative = !b.isEmpty && b[0] == UInt8(ascii: "-")
        if negative { i = 1 }
        var mantissa: UInt64 = 0
        var digits = 0, fraction = 0
        var sawDot = false
        while i < b.count {
            let c = b[i]
            if c >= 0x30 && c <= 0x39 {
                if digits < 18 {
                    mantissa = mantissa * 10 + UInt64(c - 0x30)
                    if sawDot { fraction += 1 }
                } else if !sawDot {
                    return Decimal(string: String(decoding: b, as: UTF8.self), locale: posix)
                } else if c != 0x30 {
                    return Decimal(string: String(decoding: b, as: UTF8.self), locale: posix)
                }
                if mantissa > 0 || sawDot { digits += 1 }
            } else if c == UInt8(ascii: ".") && !sawDot {
                sawDot = true
            } else {
                return nil
            }
            i += 1
        }
        guard b.count > (negative ? 1 : 0), b.contains(where: { $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Decimal(sign: negative && mantissa != 0 ? .minus : .plus, exponent: -fraction, significand: Decimal(mantissa))
    }

    /// The value as plain text: `-`, its digits, a point only when the exponent is negative
    /// (`0.05`), zeros for a positive one (`12000`), `0` for zero — what Foundation's
    /// `NSDecimalString` writes. That writes a Character at a time, at about 2 µs a
    /// value (a third of generating a transaction, and paid on every fired window's
    /// explanation), so values with a 64-bit mantissa are written directly (``Decimal/plainText``).
    public static func format(_ value: Decimal) -> String {
        if let text = value.plainText { return text }
        var v = value
        return NSDecimalString(&v, posix)
    }

    static func decode<K: CodingKey>(_ c: KeyedDecodingContainer<K>, _ key: K) throws -> Decimal {
        if let text = try? c.decode(String.self, forKey: key) {
            guard let d = parse(text) else {
                throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "'\(text)' is not a decimal amount")
            }
            return d
        }
        return try c.decode(Decimal.self, forKey: key)
    }
}

/// A travel document.
public struct TravelDocument: Sendable, Hashable, Codable {
    public var type: String?
    public var number: String
    public var issuer: String?
    public var expiry: String?

    public init(type: String? = nil, number: String, issuer: String? = nil, expiry: String? = nil) {
        self.type = type
        self.number = number
        self.issuer = issuer
        self.expiry = expiry
    }
}

/// A traveller as named on an API or PNR message.
public struct Traveller: Sendable, Hashable, Codable {
    public var surname: String
    public var given: String?
    /// Date of birth, `YYYY-MM-DD`.
    public var dob: String?
    public var sex: String?
    public var nationality: String?
    public var documents: [TravelDocument]?
    /// `passenger`, `crew`, `in-transit-passenger` or `in-transit-crew` (API lists name both).
    public var role: String?
    /// Address as declared (PNR SSR DOCA): street, city, region, postcode, country.
    public var address: String?

    public init(surname: String, given: String? = nil, dob: String? = nil, sex: String? = nil,
                nationality: String? = nil, documents: [TravelDocument]? = nil, role: String? = nil, address: String? = nil) {
        self.role = role
        self.address = address
        self.surname = surname
        self.given = given
        self.dob = dob
        self.sex = sex
        self.nationality = nationality
        self.documents = documents
    }
}

/// One flight leg (IATA codes, RFC 3339 times).
public struct Flight: Sendable, Hashable, Codable {
    public var carrier: String
    public var number: String
    public var from: String?
    public var to: String?
    public var departure: EventTime?
    public var arrival: EventTime?

    public init(carrier: String, number: String, from: String? = nil, to: String? = nil,
                departure: EventTime? = nil, arrival: EventTime? = nil) {
        self.carrier = carrier
        self.number = number
        self.from = from
        self.to = to
        self.departure = departure
        self.arrival = arrival
    }
}

/// Booking data from a PNR.
public struct Booking: Sendable, Hashable, Codable {
    public struct Payment: Sendable, Hashable, Codable {
        /// Form of payment as PNRGOV's FOP codes it, e.g. `CC` (card), `CA` (cash), `MS` (miscellaneous).
        public var form: String?
        /// Keyed HMAC of the card number; the clear number is never kept.
        public var cardHash: String?
        public var payer: String?
        public init(form: String? = nil, cardHash: String? = nil, payer: String? = nil) {
            self.form = form
            self.cardHash = cardHash
            self.payer = payer
        }
    }
    public struct Contacts: Sendable, Hashable, Codable {
        public var phones: [String]?
        public var emails: [String]?
        public init(phones: [String]? = nil, emails: [String]? = nil) {
            self.phones = phones
            self.emails = emails
        }
    }
    public var locator: String
    public var createdAt: EventTime?
    public var payment: Payment?
    public var contacts: Contacts?
    public var agency: String?
    public var oneWay: Bool?
    public var coTravellers: [String]?

    public init(locator: String, createdAt: EventTime? = nil, payment: Payment? = nil, contacts: Contacts? = nil,
                agency: String? = nil, oneWay: Bool? = nil, coTravellers: [String]? = nil) {
        self.locator = locator
        self.createdAt = createdAt
        self.payment = payment
        self.contacts = contacts
        self.agency = agency
        self.oneWay = oneWay
        self.coTravellers = coTravellers
    }
}

/// The canonical passenger event (topics `pax.api`, `pax.pnr`).
public struct Passenger: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable { case api, pnr }
    public var id: String
    public var ts: EventTime
    public var kind: Kind
    public var traveller: Traveller
    public var flights: [Flight]?
    public var booking: Booking?
    public var source: EventSource?

    public init(id: String, ts: EventTime, kind: Kind, traveller: Traveller, flights: [Flight]? = nil, booking: Booking? = nil,
                source: EventSource? = nil) {
        self.source = source
        self.id = id
        self.ts = ts
        self.kind = kind
        self.traveller = traveller
        self.flights = flights
        self.booking = booking
    }
}

/// Where an input event was read: enough to find it again and to commit past it.
public struct EventOrigin: Sendable, Hashable, Codable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64

    public init(topic: String, partition: Int32, offset: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }
}
