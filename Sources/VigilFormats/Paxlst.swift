import VigilCore

/// UN/EDIFACT PAXLST (advance passenger information, WCO/IATA/ICAO guidelines on D02B, D05B
/// and later) → one `passenger` event per traveller per flight leg they are on.
///
/// Segment groups read: TDT/LOC/DTM (flight legs; `LOC+125`/`LOC+87` departure and arrival,
/// `LOC+92` routing for multi-leg lists), NAD (FL passenger, FM crew, DDU/DDT in transit),
/// ATT (sex), DTM+329 (birth), NAT, LOC+178/179 (embarkation, debarkation), RFF+AVF (booking
/// reference), DOC with its DTM+36 (expiry) and LOC+91 (issuing state), EMP (crew function).
enum PaxlstDecoder {
    static func decode(_ input: [UInt8], file: String?) throws(FormatError) -> [CanonicalEvent] {
        let ic = try EdifactInterchange(input, format: .paxlst)
        let envelope = ic.envelope
        var events: [CanonicalEvent] = []
        for (unh, body) in try ic.messages(of: "PAXLST") {
            try message(unh, body, envelope: envelope, file: file, into: &events)
        }
        guard !events.isEmpty else { throw FormatError(.paxlst, "no traveller (NAD+FL/FM) in the message") }
        return events
    }

    /// A traveller as read, with what decides the legs they are on and their booking.
    private struct Entry {
        var traveller: Traveller
        var embark: String?
        var debark: String?
        var locator: String?
    }

    private struct Leg {
        var flight: Flight
        /// The TDT segment, for errors (its location text is built only when one is thrown).
        var segment: EdifactSegment
    }

    private static func message(_ unh: EdifactSegment, _ segs: Slice<EdifactSegments>, envelope: EdifactEnvelope,
                                file: String?, into out: inout [CanonicalEvent]) throws(FormatError) {
        let messageRef = unh[0] ?? ""
        let refYear = envelope.referenceYear
        var legs: [Leg] = []
        var travellers: [Entry] = []
        travellers.reserveCapacity(segs.count / 8)
        var crewList = false
        var k = segs.startIndex
        // Which kind of LOC/DTM we are reading: the flight's (before any NAD) or a traveller's.
        var inTraveller = false
        var lastDocument: Int?

        func dateTime(_ s: EdifactSegment) throws(FormatError) -> EventTime {
            guard let text = s[0, 1], let t = EdifactDate.time(text, qualifier: s[0, 2], referenceYear: refYear) else {
                throw FormatError(.paxlst, at: s.location(element: 0), "'\(s[0, 1] ?? "")' is not a date/time in format \(s[0, 2] ?? "YYMMDDHHMM")")
            }
            return t
        }

        while k < segs.endIndex {
            let s = segs[k]
            switch s.tag {
            case "BGM":
                // 745 passenger list, 250 crew list (266 and 655 are crew/flight-crew variants).
                crewList = [EdifactCode("250"), "266", "655"].contains(s.code(0))
            case "TDT":
                inTraveller = false
                guard let id = s[1] else { throw FormatError(.paxlst, at: s.location(element: 1), "TDT has no flight identification") }
                let carrier = s[4] ?? String(id.prefix(2))
                let number = id.hasPrefix(carrier) ? String(id.dropFirst(carrier.count)) : id
                legs.append(Leg(flight: Flight(carrier: carrier, number: number), segment: s))
            case "LOC" where !inTraveller:
                guard !legs.isEmpty else { break }
                let code = s[1]
                switch s.code(0) {
                case "125": legs[legs.count - 1].flight.from = code
                case "87": legs[legs.count - 1].flight.to = code
                case "92":
                    // Multi-leg lists name each leg's airports with LOC+92, first departure then arrival.
                    if legs[legs.count - 1].flight.from == nil { legs[legs.count - 1].flight.from = code }
                    else { legs[legs.count - 1].flight.to = code }
                default: break
                }
            case "DTM" where !inTraveller:
                guard !legs.isEmpty else { break }
                switch s.code(0) {
                case "189": legs[legs.count - 1].flight.departure = try dateTime(s)
                case "232": legs[legs.count - 1].flight.arrival = try dateTime(s)
                default: break
                }
            case "NAD":
                let role: String
                switch s.code(0) {
                case "FL": role = "passenger"
                case "FM": role = "crew"
                case "DDU": role = "in-transit-passenger"
                case "DDT": role = "in-transit-crew"
                case "COT": role = crewList ? "crew" : "passenger"
                default: k += 1; continue   // MS: the party reporting the list, not a traveller
                }
                guard let surname = s[3, 0] else {
                    throw FormatError(.paxlst, at: s.location(element: 3), "traveller has no surname (NAD element 4, component 1)")
                }
                let given = switch (s[3, 1], s[3, 2]) {
                case let (first?, middle?): first + " " + middle
                case let (first, middle): first ?? middle
                }
                travellers.append(Entry(traveller: Traveller(surname: surname, given: given, role: role)))
                inTraveller = true
                lastDocument = nil
            case "ATT" where inTraveller:
                if s.code(0) == "2", let sex = s[2] { travellers[travellers.count - 1].traveller.sex = sex }
            case "DTM" where inTraveller:
                switch s.code(0) {
                case "329":
                    guard let text = s[0, 1], let dob = EdifactDate.day(text, qualifier: s[0, 2], referenceYear: refYear, past: true) else {
                        throw FormatError(.paxlst, at: s.location(element: 0), "date of birth '\(s[0, 1] ?? "")' is not a date (YYMMDD)")
                    }
                    travellers[travellers.count - 1].traveller.dob = dob
                case "36":
                    guard let d = lastDocument, let text = s[0, 1] else { break }
                    guard let expiry = EdifactDate.day(text, qualifier: s[0, 2], referenceYear: refYear, past: false) else {
                        throw FormatError(.paxlst, at: s.location(element: 0), "document expiry '\(text)' is not a date (YYMMDD)")
                    }
                    travellers[travellers.count - 1].traveller.documents![d].expiry = expiry
                default: break
                }
            case "LOC" where inTraveller:
                switch s.code(0) {
                case "178": travellers[travellers.count - 1].embark = s[1]
                case "179": travellers[travellers.count - 1].debark = s[1]
                case "91":
                    if let d = lastDocument { travellers[travellers.count - 1].traveller.documents![d].issuer = s[1] }
                default: break
                }
            case "NAT" where inTraveller:
                travellers[travellers.count - 1].traveller.nationality = s[1]
            case "RFF" where inTraveller:
                if s.code(0, 0) == "AVF" { travellers[travellers.count - 1].locator = s[0, 1] }
            case "DOC" where inTraveller:
                guard let number = s[1] else {
                    throw FormatError(.paxlst, at: s.location(element: 1), "travel document has no number")
                }
                var docs = travellers[travellers.count - 1].traveller.documents ?? []
                docs.append(TravelDocument(type: s[0, 0], number: number))
                travellers[travellers.count - 1].traveller.documents = docs
                lastDocument = docs.count - 1
            default:
                break
            }
            k += 1
        }
        guard !legs.isEmpty else { throw FormatError(.paxlst, at: unh.location(), "message has no flight (TDT segment)") }

        // Shared by every event of the message (copy-on-write: one allocation, not one per event).
        // DTM+189/232 are on the airports' clocks: read once both ends of each leg are known.
        let flights = legs.map { $0.flight.withLocalTimesResolved() }
        let legLists = flights.map { [$0] }
        let source = EventSource(format: FeedFormat.paxlst.rawValue, institution: envelope.sender, file: file)
        let idPrefix = "paxlst:\(envelope.sender):\(envelope.reference):\(messageRef):"
        out.reserveCapacity(out.count + travellers.count)
        for n in travellers.indices {
            let t = travellers[n]
            for legIndex in legsTravelled(flights, embark: t.embark, debark: t.debark) {
                let leg = flights[legIndex]
                guard let ts = leg.departure ?? leg.arrival ?? envelope.prepared else {
                    throw FormatError(.paxlst, at: legs[legIndex].segment.location(), "flight has no departure or arrival time (DTM+189/232) and UNB has no date")
                }
                let id = idPrefix + String(n + 1) + (legs.count > 1 ? ":\(legIndex + 1)" : "")
                out.append(.passenger(Passenger(id: id, ts: ts, kind: .api, traveller: t.traveller, flights: legLists[legIndex],
                                     booking: t.locator.map { Booking(locator: $0) }, source: source)))
            }
        }
    }

    /// The legs between the traveller's embarkation and debarkation airports; all legs when the
    /// list does not say (crew lists often do not) or the airports do not chain.
    static func legsTravelled(_ flights: [Flight], embark: String?, debark: String?) -> ClosedRange<Int> {
        guard flights.count > 1 else { return 0 ... 0 }
        let start = embark.flatMap { e in flights.firstIndex { $0.from == e } } ?? 0
        let end = debark.flatMap { d in flights[start...].firstIndex { $0.to == d } } ?? (flights.count - 1)
        return start ... end
    }
}
