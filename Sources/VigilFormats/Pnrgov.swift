import Foundation
import VigilCore

/// PNRGOV EDIFACT (IATA/WCO/ICAO PNRGOV message, versions 10.1 to 13.1) → one `passenger`
/// event per traveller of each PNR, with its itinerary and booking data.
///
/// Read per PNR (`SRC` group): RCI (record locator, creation time), ORG (booking agency), ADD
/// and IFT `CTC…` texts (contacts), TIF (traveller) with its SSR DOCS/DOCO/DOCA and FOP (form of
/// payment, with the payer from IFT 4:43), TVL (itinerary). Segments after ABI/SAC are the
/// PNR's history and do not change the current itinerary.
///
/// Card numbers are replaced by a keyed HMAC-SHA-256 as soon as they are read, so the clear
/// number never reaches an event, a log line or a topic.
enum PnrgovDecoder {
    static func decode(_ input: [UInt8], file: String?, cardHashKey: [UInt8]?) throws(FormatError) -> [CanonicalEvent] {
        let ic = try EdifactInterchange(input, format: .pnrgov)
        let envelope = ic.envelope
        let cardHasher = cardHashKey.flatMap { $0.isEmpty ? nil : HMACSHA256(key: $0) }
        var out: [CanonicalEvent] = []
        for (unh, body) in try ic.messages(of: "PNRGOV") {
            let org = body.firstIndex { $0.tag == "ORG" }
            guard let org, org < body.firstIndex(where: { $0.tag == "SRC" }) ?? body.endIndex else {
                throw FormatError(.pnrgov, at: unh.location(), "no ORG segment before the first PNR: PNRGOV requires the sending system (ORG) in the message header")
            }
            // Each SRC starts one PNR.
            var starts = body.indices.filter { body[$0].tag == "SRC" }
            guard !starts.isEmpty else { throw FormatError(.pnrgov, at: unh.location(), "message holds no PNR (no SRC segment)") }
            starts.append(body.endIndex)
            for (a, b) in zip(starts, starts.dropFirst()) {
                let pnr = try record(body[a ..< b], refYear: envelope.referenceYear, cardHasher: cardHasher)
                let ts = envelope.prepared ?? pnr.modified ?? pnr.booking.createdAt
                guard let ts else {
                    throw FormatError(.pnrgov, at: body[a].location(), "no time for the PNR: UNB has no date and the PNR has no DAT or RCI date")
                }
                for (n, traveller) in pnr.travellers.enumerated() {
                    var booking = pnr.booking
                    if let p = traveller.payment { booking.payment = p }
                    let others = pnr.travellers.indices.filter { $0 != n }.map { pnr.travellers[$0].traveller.displayName }
                    booking.coTravellers = others.isEmpty ? nil : others
                    let id = "pnrgov:\(envelope.sender):\(envelope.reference):\(unh[0] ?? ""):\(booking.locator):\(traveller.reference ?? String(n + 1))"
                    out.append(.passenger(Passenger(id: id, ts: ts, kind: .pnr, traveller: traveller.traveller,
                                         flights: pnr.flights.isEmpty ? nil : pnr.flights, booking: booking,
                                         source: EventSource(format: FeedFormat.pnrgov.rawValue, institution: envelope.sender, file: file))))
                }
            }
        }
        guard !out.isEmpty else { throw FormatError(.pnrgov, "no traveller (TIF segment) in any PNR") }
        return out
    }

    private struct PNRTraveller {
        var traveller: Traveller
        var reference: String?
        var payment: Booking.Payment?
    }

    private struct PNR {
        var booking: Booking
        var modified: EventTime?
        var travellers: [PNRTraveller] = []
        var flights: [Flight] = []
    }

    private static func record(_ segs: Slice<EdifactSegments>, refYear: Int, cardHasher: HMACSHA256?) throws(FormatError) -> PNR {
        guard let rci = segs.first(where: { $0.tag == "RCI" }), let locator = rci[0, 1] else {
            throw FormatError(.pnrgov, at: segs[segs.startIndex].location(), "PNR has no record locator (RCI segment, element 1, component 2)")
        }
        var pnr = PNR(booking: Booking(locator: locator))
        pnr.booking.createdAt = rci[0, 3].flatMap { EdifactDate.dayFirst($0, time: rci[0, 4], referenceYear: refYear) }
        var phones: [String] = [], emails: [String] = []
        var pnrPayment: Booking.Payment?
        var inHistory = false
        // After the first TVL, TIF/SSR/FOP belong to the itinerary's per-leg groups (seats,
        // check-in) and refer back to travellers already read.
        var inItinerary = false
        // Whose form of payment was read last, for the payer (IFT 4:43) that follows it.
        enum PaymentOwner { case none, pnr, traveller(Int) }
        var lastFOP = PaymentOwner.none

        for s in segs {
            switch s.tag {
            case "ABI", "SAC":
                inHistory = true
            case "DAT" where !inHistory:
                // 700: last PNR transaction date and time.
                for e in 0 ..< s.elementCount where s[e, 0] == "700" {
                    if let d = s[e, 1] { pnr.modified = EdifactDate.dayFirst(d, time: s[e, 2], referenceYear: refYear) ?? pnr.modified }
                }
            case "ORG" where !inHistory:
                // The booking office: its IATA/ARC number, else the airline and city that made it.
                pnr.booking.agency = s[1, 0] ?? [s[0, 0], s[0, 1]].compactMap { $0 }.joined(separator: ":")
            case "ADD" where !inHistory:
                // Component 8 is the telephone, free text that may hold several (`H5555555555 W 1 555 555 5555`).
                if let phone = s[1, 7] { phones += phoneNumbers(phone) }
                for c in s.components(1) { readContact(c, phones: &phones, emails: &emails) }
            case "IFT" where !inHistory:
                if s[0, 0] == "4", s[0, 1] == "43" {
                    // The payer of the form of payment just read.
                    let payer = s[1]
                    switch lastFOP {
                    case .traveller(let t): pnr.travellers[t].payment?.payer = payer
                    case .pnr: pnrPayment?.payer = payer
                    case .none: break
                    }
                } else {
                    for c in s.components(1) { readContact(c, phones: &phones, emails: &emails) }
                }
            case "TIF" where !inHistory && !inItinerary:
                guard let surname = s[0, 0] else {
                    throw FormatError(.pnrgov, at: s.location(element: 0), "traveller has no surname (TIF element 1)")
                }
                let given = s[1, 0].map(stripTitle)
                pnr.travellers.append(PNRTraveller(traveller: Traveller(surname: surname, given: given, role: "passenger"),
                                                   reference: s[1, 2]))
                lastFOP = .none
            case "SSR" where !inHistory && !inItinerary:
                guard let code = s[0, 0] else { break }
                if code == "CTCE" || code == "CTCM" || code == "CTCH" {
                    if let text = s.components(0).dropFirst(4).first(where: { $0.hasPrefix("/") }) ?? s[0, 8] {
                        readContact(code + " " + text.drop { $0 == "/" }, phones: &phones, emails: &emails)
                    }
                }
                guard !pnr.travellers.isEmpty, ["DOCS", "DOCO", "DOCA"].contains(code) else { break }
                // The free text is component 9; senders that drop empty components still start it with '/'.
                guard let text = s.components(0).dropFirst(4).first(where: { $0.hasPrefix("/") }) ?? s[0, 8] else {
                    throw FormatError(.pnrgov, at: s.location(element: 0), "SSR \(code) has no free text (element 1, component 9)")
                }
                try apply(code, text, to: &pnr.travellers[pnr.travellers.count - 1].traveller, at: s, refYear: refYear)
            case "FOP" where !inHistory && !inItinerary:
                let payment = try payment(s, hasher: cardHasher)
                if pnr.travellers.isEmpty {
                    pnrPayment = pnrPayment ?? payment
                    lastFOP = .pnr
                } else {
                    let t = pnr.travellers.count - 1
                    if pnr.travellers[t].payment == nil { pnr.travellers[t].payment = payment }
                    lastFOP = .traveller(t)
                }
            case "TVL" where !inHistory:
                inItinerary = true
                // Hotel and car segments have no arrival airport: they are not flights.
                if s[2, 0] == nil, s[4, 0] != nil, s[1, 1] != nil { break }
                // A TVL with only a flight number follows a codeshare segment: the operating
                // carrier's flight, the same leg.
                if s[3, 0] == nil, s[4, 0] != nil, !pnr.flights.isEmpty { break }
                guard let carrier = s[3, 0], let number = s[4, 0] else {
                    throw FormatError(.pnrgov, at: s.location(element: 3), "itinerary TVL needs the carrier (element 4) and flight number (element 5)")
                }
                var f = Flight(carrier: carrier, number: number, from: s[1, 0], to: s[2, 0])
                if let d = s[0, 0] {
                    guard let dep = EdifactDate.dayFirst(d, time: s[0, 1], referenceYear: refYear) else {
                        throw FormatError(.pnrgov, at: s.location(element: 0), "departure '\(d):\(s[0, 1] ?? "")' is not a DDMMYY:HHMM date and time")
                    }
                    f.departure = dep
                    // Arrival: its own date when given, else the departure date moved by the
                    // date variation (`+1`, `-1` across the date line) when there is one.
                    if let t = s[0, 3] {
                        let variation = s[0, 4].flatMap { Int($0.hasPrefix("+") ? String($0.dropFirst()) : $0) }
                        f.arrival = EdifactDate.dayFirst(s[0, 2] ?? d, time: t, referenceYear: refYear)
                            .map { s[0, 2] == nil ? $0 + .seconds(86_400 * Int64(variation ?? 0)) : $0 }
                    }
                }
                f = f.withLocalTimesResolved()
                // An arrival time with neither its date nor a date variation that falls before the
                // departure (both on their airports' clocks, so as instants) is the next day's: a
                // flight overnight.
                if s[0, 2] == nil, s[0, 4] == nil, let dep = f.departure, let arr = f.arrival, arr < dep {
                    f.arrival = arr + .seconds(86_400)
                }
                pnr.flights.append(f)
            default:
                break
            }
        }
        if !phones.isEmpty || !emails.isEmpty {
            pnr.booking.contacts = Booking.Contacts(phones: phones.isEmpty ? nil : unique(phones), emails: emails.isEmpty ? nil : unique(emails))
        }
        pnr.booking.payment = pnrPayment
        if let first = pnr.flights.first?.from, let last = pnr.flights.last?.to { pnr.booking.oneWay = first != last }
        return pnr
    }

    /// SSR DOCS `/P/GBR/123456789/GBR/12JUL64/M/23AUG19/SMITHJR/JONATHON/ROBERT`,
    /// DOCO `/birthplace/V/number/place of issue/issue date/applies in`, DOCA `/R/country/street/city/state/postcode`.
    private static func apply(_ code: String, _ text: String, to t: inout Traveller, at s: EdifactSegment, refYear: Int) throws(FormatError) {
        // Usually written with a leading '/'; some senders omit it.
        let body = text.hasPrefix("/") ? Substring(text.dropFirst()) : Substring(text)
        let f = body.split(separator: "/", omittingEmptySubsequences: false).map { $0.trimmed(" ") }
        func field(_ n: Int) -> String? { n < f.count && !f[n].isEmpty ? f[n] : nil }
        switch code {
        case "DOCS":
            if let dob = field(4) {
                guard let d = EdifactDate.dayMonthName(dob, referenceYear: refYear, past: true) else {
                    throw FormatError(.pnrgov, at: s.location(element: 0), "SSR DOCS date of birth '\(dob)' is not DDMMMYY")
                }
                t.dob = d
            }
            if let sex = field(5) { t.sex = String(sex.prefix(1)) }
            if let nat = field(3) { t.nationality = nat }
            if let number = field(2) {
                t.documents = (t.documents ?? []) + [TravelDocument(type: field(0), number: number, issuer: field(1),
                                                                     expiry: field(6).flatMap { EdifactDate.dayMonthName($0, referenceYear: refYear, past: false) })]
            }
            // The document's spelling of the name is authoritative over the booking's.
            if let surname = field(7) { t.surname = surname }
            // Some carriers glue the title on here too, as in TIF (`/ACKARY/CHARLESMR/MUHAMMAD`).
            if let given = field(8) { t.given = [stripTitle(given), field(9)].compactMap { $0 }.joined(separator: " ") }
        case "DOCO":
            if let number = field(2) {
                t.documents = (t.documents ?? []) + [TravelDocument(type: field(1), number: number, issuer: field(5))]
            }
        default: // DOCA
            let parts = [field(2), field(3), field(4), field(5), field(1)].compactMap { $0 }
            if !parts.isEmpty { t.address = parts.joined(separator: ", ") }
        }
    }

    /// FOP `CC::amount:vendor:number:expiry`: the card number is hashed here and dropped.
    private static func payment(_ s: EdifactSegment, hasher: HMACSHA256?) throws(FormatError) -> Booking.Payment {
        var p = Booking.Payment(form: s[0, 0])
        if let number = s[0, 4] {
            guard let hasher else {
                throw FormatError(.pnrgov, at: s.location(element: 0), "a card number is present but no card-hash key is configured (formats.card-hash-key); refusing to keep it in clear")
            }
            p.cardHash = cardHash(number, hasher: hasher)
        }
        return p
    }

    /// HMAC-SHA-256 of the card number's characters without spaces or dashes, hex. Masked numbers
    /// (`XXXXXXXX1186`) hash too: they still link bookings paid with the same masked card.
    static func cardHash(_ number: String, hasher: HMACSHA256) -> String {
        hasher.authenticationCode(for: number.utf8.filter { $0 != 0x20 && $0 != UInt8(ascii: "-") }).hex
    }

    /// `CTCE JOHN..DOE//MAIL.COM` → e-mail `john_doe@mail.com` (IATA's encoding: `//` for `@`,
    /// `..` for `_`, `./` for `-`); `CTCM 15551234567`, `CTCH …`, `CTCB …`, `CTCR …` → phone.
    static func readContact(_ text: String, phones: inout [String], emails: inout [String]) {
        let u = Array(text.utf8)
        guard let ctc = u.firstIndex(of: "CTC"), ctc + 3 < u.count else { return }
        let kind = u[ctc + 3]
        let value = Array(u[(ctc + 4)...].trimming(" /"))
        guard !value.isEmpty else { return }
        if kind == UInt8(ascii: "E") {
            // The three codes are undone in this order, as IATA lists them.
            let email = value.replacing("//", with: UInt8(ascii: "@")).replacing("..", with: UInt8(ascii: "_"))
                .replacing("./", with: UInt8(ascii: "-"))
            emails.append(String(decoding: email, as: UTF8.self).lowercased())
        } else {
            // `CTCP MEX52 55 4446 0000 FAX`: a city code, the number, a note.
            phones += phoneNumbers(String(decoding: value, as: UTF8.self))
        }
    }

    /// The phone numbers in a free text, each as its digits (with a leading `+` when written):
    /// letters (`H` home, `B` business, `M` mobile, a city code, a note) and `/`, `,` or `;` end a
    /// number; spaces, dashes, dots and brackets inside one are punctuation. A run of fewer than
    /// five digits is no number.
    static func phoneNumbers(_ text: String) -> [String] {
        var out: [String] = [], current: [UInt8] = []
        func end() {
            if current.count(where: { $0 != UInt8(ascii: "+") }) >= 5 { out.append(String(decoding: current, as: UTF8.self)) }
            current = []
        }
        for c in text.utf8 {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): current.append(c)
            case UInt8(ascii: "+"): if current.isEmpty { current.append(c) }
            case UInt8(ascii: " "), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "("), UInt8(ascii: ")"): continue
            default: end()
            }
        }
        end()
        return out
    }

    /// PNR given names carry the title glued on (`JOHNMR`, `NINA MS`).
    static func stripTitle(_ given: String) -> String {
        for title in [" MSTR", " MISS", " MRS", " MR", " MS", " DR", "MSTR", "MISS", "MRS", "MR"] where given.hasSuffix(title) && given.count > title.count {
            return String(given.dropLast(title.count)).trimmed(" ")
        }
        return given
    }

    private static func unique(_ values: [String]) -> [String] {
        var seen = Set<String>()
        return values.filter { seen.insert($0).inserted }
    }
}

extension Traveller {
    /// `SURNAME/GIVEN`, as airline systems write names.
    var displayName: String { given.map { "\(surname)/\($0)" } ?? surname }
}
