import Foundation
import VigilCore

/// Generated passenger events (canonical `passenger`, topics `pax.pnr` and `pax.api`): travellers
/// of several nationalities making round trips through European and Middle-East hubs, booked weeks
/// ahead and paid by card, with planted foreign-terrorist-fighter travel patterns (FATF 2015: a
/// one-way, last-minute, cash-paid booking to an airport near a conflict zone). Deterministic
/// from the seed. Card numbers exist only as keyed hashes, as a PNRGOV decoder would leave them.
public struct PassengerFeed: Sendable {
    public struct Planted: Sendable, Hashable {
        public enum Kind: String, Sendable, Hashable, CaseIterable {
            /// One-way, booked under 72 h before departure, paid in cash, ending at an airport
            /// near the Syrian border (weak alone; only in combination and for human review).
            case ftfTravel = "ftf-travel"
        }
        public var kind: Kind
        /// The traveller's document number.
        public var traveller: String
        public var eventIDs: [String]
    }

    /// One JSON object per line, in event-time order; `pnr` events then `api` events per trip.
    public var lines: [String]
    public var planted: [Planted]

    /// The key for the sample's card hashes (a real deployment reads its key from its config).
    public static let sampleCardKey = Array("vigil-sample-card-key".utf8)

    public static func generate(seed: UInt64 = SampleFeed.defaultSeed, count: Int = 1_000,
                                plants: Set<Planted.Kind> = [.ftfTravel]) -> PassengerFeed {
        var rng = SplitMix64(seed: seed ^ 0x5041_5853)  // "PAXS": a stream of its own
        func pick<T>(_ items: [T]) -> T { items[Int(rng.next() % UInt64(items.count))] }
        func digits(_ n: Int) -> String { (0..<n).map { _ in String(rng.next() % 10) }.joined() }
        let start = EventTime(rfc3339: "2024-03-04T00:00:00Z")!
        let hour: Int64 = 3_600_000_000
        let surnames = ["SMITH", "MUELLER", "DUBOIS", "ROSSI", "GARCIA", "YILMAZ", "KOWALSKI", "JANSEN", "NOVAK", "HANSEN",
                        "MARTIN", "SCHMIDT", "BERNARD", "LOPEZ", "MOREAU", "WEBER", "KAYA", "DEMIR", "HOFFMANN", "LAMBERT"]
        let given = ["ANNA", "JOHN", "MARIE", "AHMED", "LUCA", "SOFIA", "OMAR", "ELENA", "PETER", "LEA", "YUSUF", "CLARA",
                     "DAVID", "NORA", "KARIM", "EVA"]
        // Home airport and phone prefix by nationality.
        let homes: [(nationality: String, airport: String, phone: String)] = [
            ("DEU", "FRA", "+49"), ("GBR", "LHR", "+44"), ("FRA", "CDG", "+33"), ("NLD", "AMS", "+31"), ("ESP", "MAD", "+34"),
            ("BEL", "BRU", "+32"), ("TUR", "IST", "+90"), ("USA", "JFK", "+1"),
        ]
        let carrierAt = ["FRA": "LH", "LHR": "BA", "CDG": "AF", "AMS": "KL", "MAD": "IB", "BRU": "SN", "IST": "TK", "JFK": "AA", "DXB": "EK"]
        let destinations = ["FRA", "LHR", "CDG", "AMS", "MAD", "IST", "DXB", "JFK", "BRU"]
        let borderAirports = ["GZT", "HTY"]  // Gaziantep, Hatay

        struct Draft { var ts: EventTime; var passenger: Passenger; var planted: Bool }
        var drafts: [Draft] = []
        var plantedDrafts: [(Planted.Kind, String, [Int])] = []
        var locatorCount = 0
        func locator() -> String {
            locatorCount += 1
            let letters = Array("ABCDEFGHJKLMNPQRSTUVWXYZ")
            return String((0..<6).map { _ in letters[Int(rng.next() % UInt64(letters.count))] })
        }
        func flight(_ from: String, _ to: String, _ departure: EventTime) -> Flight {
            Flight(carrier: carrierAt[from] ?? "TK", number: String(100 + rng.next() % 900), from: from, to: to,
                   departure: departure, arrival: departure + .seconds(Int64(2 + rng.next() % 5) * 3600))
        }
        /// A PNR push 48 h before departure (or at booking if later), and an API message per leg.
        func trip(_ t: Traveller, flights: [Flight], booking: Booking, planted: Bool) -> [Int] {
            let first = drafts.count
            let push = max(booking.createdAt ?? start, flights[0].departure! - .seconds(48 * 3600))
            drafts.append(Draft(ts: push, passenger: Passenger(id: "", ts: push, kind: .pnr, traveller: t, flights: flights, booking: booking), planted: planted))
            for leg in flights {
                let apiTime = leg.departure! - .seconds(3600)
                drafts.append(Draft(ts: apiTime, passenger: Passenger(id: "", ts: apiTime, kind: .api, traveller: t, flights: [leg]), planted: planted))
            }
            return Array(first..<drafts.count)
        }

        var travellers = 0
        while travellers < 20 || drafts.count < count {
            travellers += 1
            let home = pick(homes)
            let surname = pick(surnames), name = pick(given)
            let dob = "19\(60 + rng.next() % 40)-\(padded(Int(1 + rng.next() % 12), 2))-\(padded(Int(1 + rng.next() % 28), 2))"
            let t = Traveller(surname: surname, given: name, dob: dob, sex: rng.next() % 2 == 0 ? "F" : "M", nationality: home.nationality,
                              documents: [TravelDocument(type: "P", number: home.nationality.prefix(2) + digits(7), issuer: home.nationality,
                                                         expiry: "20\(27 + rng.next() % 6)-06-30")])
            let card = "4" + digits(15)
            for _ in 0..<(1 + Int(rng.next() % 2)) {
                var to = pick(destinations)
                if to == home.airport { to = "DXB" }
                let departure = EventTime(microseconds: start.microseconds + Int64(24 + rng.next() % (24 * 28)) * hour)
                let back = departure + .seconds(Int64(3 + rng.next() % 12) * 86_400)
                let booking = Booking(
                    locator: locator(), createdAt: departure - .seconds(Int64(5 + rng.next() % 55) * 86_400),
                    payment: .init(form: "CC", cardHash: HMACSHA256.authenticationCode(key: sampleCardKey, message: card.utf8).hex,
                                   payer: "\(name) \(surname)"),
                    contacts: .init(phones: ["\(home.phone)\(digits(9))"], emails: ["\(name.lowercased()).\(surname.lowercased())@example.org"]),
                    agency: rng.next() % 3 == 0 ? "WEB" : "AGENCY-\(padded(Int(rng.next() % 40), 3))", oneWay: false)
                _ = trip(t, flights: [flight(home.airport, to, departure), flight(to, home.airport, back)], booking: booking, planted: false)
            }
        }

        for k in 0..<3 where plants.contains(.ftfTravel) {
            let home = homes[k % 4]
            let t = Traveller(surname: pick(surnames), given: pick(given), dob: "199\(k + 2)-0\(k + 3)-1\(k)", sex: "M", nationality: home.nationality,
                              documents: [TravelDocument(type: "P", number: home.nationality.prefix(2) + digits(7), issuer: home.nationality, expiry: "2029-01-31")])
            let departure = EventTime(microseconds: start.microseconds + Int64(72 + k * 120) * hour)
            let first = flight(home.airport, "IST", departure)
            let second = flight("IST", borderAirports[k % 2], first.arrival! + .seconds(3 * 3600))
            let booking = Booking(locator: locator(), createdAt: departure - .seconds(Int64(20 + k * 15) * 3600),
                                  payment: .init(form: "CA", payer: "\(t.given ?? "") \(t.surname)"),
                                  contacts: .init(phones: ["\(home.phone)\(digits(9))"]), agency: "AGENCY-\(padded(90 + k, 3))", oneWay: true)
            let ids = trip(t, flights: [first, second], booking: booking, planted: true)
            plantedDrafts.append((.ftfTravel, t.documents![0].number, ids))
        }

        // Drop surplus habitual events (never planted ones) down to the count.
        var keep = [Bool](repeating: true, count: drafts.count)
        var surplus = drafts.count - max(count, drafts.filter(\.planted).count)
        for i in drafts.indices.reversed() where surplus > 0 && !drafts[i].planted {
            keep[i] = false
            surplus -= 1
        }
        let order = drafts.indices.filter { keep[$0] }.sorted { (drafts[$0].ts, $0) < (drafts[$1].ts, $1) }
        var idOf: [Int: String] = [:]
        var lines: [String] = []
        for (n, i) in order.enumerated() {
            var p = drafts[i].passenger
            p.id = "pax-" + padded(n + 1, 6)
            idOf[i] = p.id
            lines.append(String(decoding: try! CanonicalJSON.encode(p), as: UTF8.self))
        }
        let planted = plantedDrafts.map { Planted(kind: $0.0, traveller: $0.1, eventIDs: $0.2.compactMap { idOf[$0] }.sorted()) }
        return PassengerFeed(lines: lines, planted: planted)
    }
}
