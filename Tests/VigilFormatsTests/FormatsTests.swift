import Foundation
import Testing
import VigilCore
@testable import VigilFormats

/// The real sample messages copied into `Fixtures` (see the PROVENANCE.md files there).
func fixture(_ path: String) throws -> [UInt8] {
    let url = try #require(Bundle.module.resourceURL?.appendingPathComponent("Fixtures/\(path)"))
    return [UInt8](try Data(contentsOf: url))
}

func fixtureFiles(_ folder: String) throws -> [String] {
    let url = try #require(Bundle.module.resourceURL?.appendingPathComponent("Fixtures/\(folder)"))
    return try FileManager.default.contentsOfDirectory(atPath: url.path).sorted().map { "\(folder)/\($0)" }
}

let cardKey = Array("test-card-key".utf8)

func passengers(_ path: String, as format: FeedFormat? = nil) throws -> [Passenger] {
    try FeedDecoder.decode(try fixture(path), as: format, options: DecodeOptions(cardHashKey: cardKey)).map {
        guard case .passenger(let p) = $0 else { throw FormatError(nil, "not a passenger") }
        return p
    }
}

func transactions(_ path: String, as format: FeedFormat? = nil) throws -> [Transaction] {
    let bytes = try fixture(path)
    let format = format ?? FeedFormat.detect(bytes)
    var out: [Transaction] = []
    for message in FeedDecoder.split(bytes, as: try #require(format)) {
        for case .transaction(let t) in try FeedDecoder.decode(message.bytes, as: format, options: DecodeOptions(lineOffset: message.lineOffset)) { out.append(t) }
    }
    return out
}

func decodeError(_ bytes: [UInt8], as format: FeedFormat?, options: DecodeOptions = DecodeOptions()) -> FormatError? {
    do {
        _ = try FeedDecoder.decode(bytes, as: format, options: options)
        return nil
    } catch { return error }
}

@Suite struct EdifactSegmentTests {
    /// Components are found by walking the segment's bytes on demand; release characters,
    /// transport line breaks, empty and absent elements must all read as before.
    @Test func componentsCodesAndEscapes() throws {
        let text = "UNA:+.? 'UNB+UNOA:4+S+R+240101:0900+1'UNH+1+PAXLST:D:05B:UN:IATA'"
            + "NAD+FL+++O?'BRIEN:ANN?+MARIE::X'FTX+A\r\nAA++17\n8:B'RFF'UNT+4+1'UNZ+1+1'"
        let ic = try EdifactInterchange(Array(text.utf8), format: .paxlst)
        let nad = ic.segments[2], ftx = ic.segments[3], rff = ic.segments[4]
        #expect(nad.tag == "NAD" && nad.code(0) == "FL" && nad.code(0) != "FM")
        #expect(nad[3] == "O'BRIEN" && nad[3, 1] == "ANN+MARIE" && nad[3, 2] == nil && nad[3, 3] == "X" && nad[3, 4] == nil)
        #expect(nad[1] == nil && nad[5] == nil && nad.elementCount == 4)
        #expect(nad.components(3) == ["O'BRIEN", "ANN+MARIE", "X"])
        // A value wrapped across lines by the transport reads whole, as text and as a code.
        #expect(ftx[0] == "AAA" && ftx.code(2) == "178" && ftx[2, 1] == "B")
        #expect(rff.elementCount == 0 && rff[0] == nil && rff.code(0) == .none)
        #expect(nad.location(element: 3) == "line 1, segment 3 (NAD), element 4")
    }
}

@Suite struct AirportTimeZoneTests {
    func instant(_ wallClock: String, _ airport: String) -> String? {
        AirportTimeZones.instant(wallClock: EventTime(rfc3339: wallClock + ":00Z")!, at: airport)?.rfc3339
    }

    @Test("an airport's clock time is the instant of its zone, summer time included")
    func airportClocks() {
        #expect(instant("2024-07-01T10:00", "LHR") == "2024-07-01T09:00:00Z")
        #expect(instant("2024-01-15T10:00", "LHR") == "2024-01-15T10:00:00Z")
        #expect(instant("2024-01-15T10:00", "JFK") == "2024-01-15T15:00:00Z")
        #expect(instant("2024-01-15T10:00", "DEL") == "2024-01-15T04:30:00Z")
        #expect(instant("2024-01-15T00:30", "SYD") == "2024-01-14T13:30:00Z")
        // City codes, where their airports share a zone.
        #expect(instant("2024-07-01T10:00", "LON") == "2024-07-01T09:00:00Z")
        #expect(instant("2024-07-01T10:00", "NYC") == "2024-07-01T14:00:00Z")
        #expect(AirportTimeZones.instant(wallClock: EventTime(seconds: 0), at: "ZZZ") == nil)
        #expect(AirportTimeZones.instant(wallClock: EventTime(seconds: 0), at: nil) == nil)
    }

    @Test("the hour summer time skips reads with the offset before; the hour it repeats, as the earlier")
    func summerTimeChanges() {
        // Paris: 02:00 → 03:00 on 2024-03-31; 03:00 → 02:00 on 2024-10-27.
        #expect(instant("2024-03-31T01:59", "CDG") == "2024-03-31T00:59:00Z")
        #expect(instant("2024-03-31T02:30", "CDG") == "2024-03-31T01:30:00Z")
        #expect(instant("2024-03-31T03:30", "CDG") == "2024-03-31T01:30:00Z")
        #expect(instant("2024-10-27T01:30", "CDG") == "2024-10-26T23:30:00Z")
        #expect(instant("2024-10-27T02:30", "CDG") == "2024-10-27T00:30:00Z")
        #expect(instant("2024-10-27T03:30", "CDG") == "2024-10-27T02:30:00Z")
        // Sydney turns back 03:00 → 02:00 on 2024-04-07.
        #expect(instant("2024-04-07T02:30", "SYD") == "2024-04-06T15:30:00Z")
        #expect(instant("2024-04-07T03:30", "SYD") == "2024-04-06T17:30:00Z")
    }
}

@Suite struct PaxlstTests {
    @Test func multiLegListPutsEachTravellerOnTheLegsTheyFly() throws {
        let events = try passengers("passenger/gtas/apisMessage.txt")
        #expect(FeedFormat.detect(try fixture("passenger/gtas/apisMessage.txt")) == .paxlst)
        // CLARK flies ATL→ORD→JFK (both legs); CHERYL boards at ORD (the second leg only).
        let clark = events.filter { $0.traveller.surname == "CLARK" && $0.traveller.given == "MICHAEL" }
        #expect(clark.map { $0.flights?.first?.number } == ["123", "124"])
        let first = try #require(clark.first)
        #expect(first.traveller.dob == "1972-09-07")
        #expect(first.traveller.sex == "M")
        // 15:40 on Atlanta's clocks (EST, UTC-5), 17:40 on Chicago's (CST, UTC-6).
        #expect(first.flights == [Flight(carrier: "AA", number: "123", from: "ATL", to: "ORD",
                                         departure: EventTime(rfc3339: "2007-02-19T20:40:00Z"),
                                         arrival: EventTime(rfc3339: "2007-02-19T23:40:00Z"))])
        #expect(first.ts == EventTime(rfc3339: "2007-02-19T20:40:00Z"))
        #expect(first.booking?.locator == "TYR123")
        let cheryl = events.filter { $0.traveller.given == "CHERYL" }
        #expect(cheryl.map { $0.flights?.first?.number } == ["124"])
        #expect(cheryl.first?.traveller.dob == "1973-04-07")
        #expect(Set(events.map(\.id)).count == events.count)
    }

    @Test func documentsVisasAndNationality() throws {
        let events = try passengers("passenger/gtas/flight1.txt")
        let jiang = try #require(events.first { $0.traveller.surname == "JIANG" })
        #expect(jiang.traveller.given == "HSIUYUAN")
        #expect(jiang.traveller.dob == "1967-06-03")
        #expect(jiang.traveller.sex == "F")
        #expect(jiang.traveller.nationality == "CHN")
        let docs = try #require(jiang.traveller.documents)
        #expect(docs.map(\.number) == ["433419360", "57131424"])
        #expect(docs[0].issuer == "CHN")
        #expect(docs[0].expiry == "2023-09-20")
        #expect(docs[1].type == "V")
        #expect(jiang.flights?.first?.carrier == "LA")
        #expect(jiang.flights?.first?.from == "SCL")
        #expect(jiang.flights?.first?.to == "JFK")
        #expect(jiang.kind == .api)
    }

    @Test func crewListWithUnusualSeparators() throws {
        // BGM+250: a crew list; NAD+FM is a crew member; two documents (passport and licence).
        let crew = try passengers("passenger/ediclean/reference/F.txt")
        let ketI = try #require(crew.first)
        #expect(ketI.traveller.role == "crew")
        #expect(ketI.traveller.surname == "KETI")
        #expect(ketI.traveller.documents?.map(\.number) == ["S20624269", "6713"])
        #expect(ketI.traveller.documents?.map(\.type) == ["P", "L"])
        // `UNA:*.? $`: '*' separates elements and '$' ends segments; "UNG *" has a padded tag.
        let starred = try passengers("passenger/gtas/airline2.edi")
        #expect(starred.first?.traveller.surname == "BETTON")
        #expect(starred.first?.flights?.first?.number == "506")
        // `UNA:-.? '`: '-' separates elements.
        let dashed = try passengers("passenger/ediclean/reference/D.txt")
        #expect(dashed.first?.traveller.surname == "ERFADFEFW")
        #expect(dashed.first?.flights?.first?.from == "VIE")
    }

    /// Teletype and e-mail wrapped originals (routing header, 64/69-column wrapping that splits
    /// tags, mail footer) decode to exactly the events of their cleaned twins.
    @Test func ediCleanOriginalsEqualTheirCleanedTwins() throws {
        for name in ["A", "B", "C", "D", "E", "F"] {
            let original = try passengers("passenger/ediclean/original/\(name).txt")
            let reference = try passengers("passenger/ediclean/reference/\(name).txt")
            #expect(!original.isEmpty)
            #expect(original == reference, "ediclean \(name)")
        }
        // The wrap in A splits "CNT+42:4" / "7" and "U" / "NH": the count and the traveller survive.
        let a = try passengers("passenger/ediclean/original/A.txt")
        #expect(a.first?.traveller.surname == "DJEMFISJER")
        #expect(a.first?.traveller.documents?.first?.number == "3DEJ2ED3E")
    }
}

@Suite struct PnrgovTests {
    @Test("a TVL arrival time without its date that falls before the departure is the next day's")
    func overnightArrival() throws {
        let text = String(decoding: try fixture("passenger/gtas/pnrMessage.txt"), as: UTF8.self)
            .replacingOccurrences(of: "TVL+121210:2200::2330+JFK+YVR+DL+330:B'", with: "TVL+121210:2200::1030+JFK+LHR+DL+330:B'")
        let events = try FeedDecoder.decode(Array(text.utf8), as: .pnrgov, options: DecodeOptions(cardHashKey: cardKey))
        guard case .passenger(let smith) = try #require(events.first) else { Issue.record("not a passenger"); return }
        // 22:00 in New York (03:00Z on the 13th); 10:30 in London is 10:30Z, on the 13th.
        let overnight = try #require(smith.flights?.last)
        #expect(overnight.departure?.rfc3339 == "2010-12-13T03:00:00Z")
        #expect(overnight.arrival?.rfc3339 == "2010-12-13T10:30:00Z")
        // A daytime flight's arrival stays on its departure's date.
        #expect(smith.flights?.first?.arrival?.rfc3339 == "2010-12-12T17:30:00Z")
        // A date variation says which day: across the date line, Auckland to Honolulu lands the day before.
        let dateLine = String(decoding: try fixture("passenger/gtas/pnrMessage.txt"), as: UTF8.self)
            .replacingOccurrences(of: "TVL+121210:2200::2330+JFK+YVR+DL+330:B'", with: "TVL+131210:0100::1100:-1+AKL+HNL+NZ+10:B'")
        let crossing = try FeedDecoder.decode(Array(dateLine.utf8), as: .pnrgov, options: DecodeOptions(cardHashKey: cardKey))
        guard case .passenger(let p) = try #require(crossing.first), let hop = p.flights?.last else { Issue.record("no flight"); return }
        // 01:00 on the 13th in Auckland (NZDT, UTC+13) is 12:00Z on the 12th; 11:00 on the 12th in
        // Honolulu (UTC-10) is 21:00Z: nine hours' flight.
        #expect(hop.departure?.rfc3339 == "2010-12-12T12:00:00Z")
        #expect(hop.arrival?.rfc3339 == "2010-12-12T21:00:00Z")
    }

    @Test func travellersItineraryContactsAndPayment() throws {
        let events = try passengers("passenger/gtas/pnrMessage.txt")
        #expect(events.count == 2)
        let smith = try #require(events.first)
        #expect(smith.kind == .pnr)
        #expect(smith.traveller.surname == "SMITHJR")
        // The document's spelling wins over the booking's (TIF JOHNMR → DOCS JONATHON ROBERT).
        #expect(smith.traveller.given == "JONATHON ROBERT")
        #expect(smith.traveller.dob == "1964-07-12")
        #expect(smith.traveller.documents == [TravelDocument(type: "P", number: "123456789", issuer: "GBR", expiry: "2019-08-23")])
        let booking = try #require(smith.booking)
        #expect(booking.locator == "MFN4TI")
        #expect(booking.coTravellers == ["JONES/WILLIAMNEVELL"])
        #expect(booking.contacts?.phones?.contains("00441753637285") == true)
        // Itinerary: the two flights; the hotel segment (no arrival airport) and history are not flights.
        #expect(smith.flights?.map { "\($0.carrier)\($0.number) \($0.from ?? "")-\($0.to ?? "")" } == ["DL324 LHR-JFK", "DL330 JFK-YVR"])
        // TVL times are on each airport's clock: 09:15 in London (GMT) to 12:30 in New York (EST),
        // then 22:00 in New York to 23:30 in Vancouver (PST), the next day in UTC.
        #expect(smith.flights?.map { [$0.departure?.rfc3339, $0.arrival?.rfc3339] } ==
                [["2010-12-12T09:15:00Z", "2010-12-12T17:30:00Z"], ["2010-12-13T03:00:00Z", "2010-12-13T07:30:00Z"]])
        #expect(booking.oneWay == true)
        #expect(booking.payment?.form == "CC")
        #expect(booking.payment?.payer == "TIMOTHY SIMS")
        #expect(booking.payment?.cardHash == HMACSHA256.authenticationCode(key: cardKey, message: Array("XXXXXXXX1186".utf8)).hex)
    }

    /// A clear card number is hashed at decode time and appears nowhere in the event.
    @Test func cardNumbersNeverLeaveTheDecoderInClear() throws {
        let original = String(decoding: try fixture("passenger/gtas/pnrMessage.txt"), as: UTF8.self)
        let withCard = Array(original.replacingOccurrences(of: "XXXXXXXX1186", with: "4111111111111111").utf8)
        let events = try FeedDecoder.decode(withCard, as: .pnrgov, options: DecodeOptions(cardHashKey: cardKey))
        let json = String(decoding: events.flatMap { $0.json() }, as: UTF8.self)
        #expect(!json.contains("4111111111111111"))
        #expect(!json.contains("1111"))
        #expect(json.contains(HMACSHA256.authenticationCode(key: cardKey, message: Array("4111111111111111".utf8)).hex))
        // A different key gives a different hash: the hash is keyed, not a plain digest.
        let other = try FeedDecoder.decode(withCard, as: .pnrgov, options: DecodeOptions(cardHashKey: Array("other".utf8)))
        #expect(other.first?.json() != events.first?.json())
        // Without a key the message is refused, and the error does not quote the number.
        let error = try #require(decodeError(withCard, as: .pnrgov))
        #expect(error.description.contains("card-hash-key"))
        #expect(error.description.contains("FOP"))
        #expect(!error.description.contains("4111"))
    }

    @Test func visasEmailsAndReleaseCharacters() throws {
        let doco = try passengers("passenger/gtas/pnrWithDoco.txt")
        let docs = try #require(doco.first?.traveller.documents)
        #expect(docs.contains(TravelDocument(type: "V", number: "8675309", issuer: "LI")))
        #expect(doco.first?.booking?.contacts?.emails == ["charles.ackary@yahoo.com"])
        // The title glued on the document's given name too (`DOCS …/ACKARY/CHARLESMR/MUHAMMAD`).
        #expect(doco.first?.traveller.given == "CHARLES MUHAMMAD")
        // IATA e-mail coding: '//' is '@', '..' is '_'; '?+' is a released '+'.
        let phone = try passengers("passenger/gtas/pnrAddressPhoneCTCM.txt")
        #expect(phone.first?.booking?.contacts?.emails == ["molly_lont+50bb@gmail.com"])
        #expect(phone.first?.booking?.contacts?.phones?.contains("5432109876") == true)
    }

    @Test("a PNR's telephone free text holds several numbers, each read on its own")
    func phoneNumbersInFreeText() throws {
        // The address's telephone (ADD component 8): home and work, marked by letters.
        let pg77 = try passengers("passenger/gtas/pnrMessagePg77.txt")
        #expect(pg77.first?.booking?.contacts?.phones == ["5555555555", "15555555555"])
        // An airline's CTC line in the address: the number once, not the line as well.
        #expect(try passengers("passenger/gtas/pnrAddressPhoneCTCM.txt").first?.booking?.contacts?.phones == ["8675309", "5432109876"])
        #expect(PnrgovDecoder.phoneNumbers("H5125551212 ") == ["5125551212"])
        #expect(PnrgovDecoder.phoneNumbers("+44 (20) 7946-0000/+33.1.23.45.67.89, 12 B 0049 30 1234567") == ["+442079460000", "+33123456789", "0049301234567"])
        // `CTCP MEX52 55 4446 0000 FAX`: the city code and the note are no part of the number.
        var phones: [String] = [], emails: [String] = []
        PnrgovDecoder.readContact("AM CTCP MEX52 55 4446 0000 FAX", phones: &phones, emails: &emails)
        PnrgovDecoder.readContact("YY CTCE ABBIE..DOVE//GMAIL.COM", phones: &phones, emails: &emails)
        #expect(phones == ["525544460000"] && emails == ["abbie_dove@gmail.com"])
    }

    @Test func malformedSeparatorsAndTypographicQuotesStillRead() throws {
        // `UNA:+\*'` (a character short) and `UNA:+.\*’` (typographic terminator), and segments
        // retyped with ’ from the IATA guide: read with the separators actually used.
        #expect(try passengers("passenger/gtas/codeshare.edi").first?.traveller.surname == "PARK")
        // An adult travelling with an infant: two travellers, each the other's co-traveller.
        let infant = try passengers("passenger/gtas/infant.edi")
        #expect(infant.map(\.traveller.surname) == ["BELT", "BELT"])
        #expect(infant.first?.booking?.coTravellers == ["BELT/SOPHY"])
        #expect(try passengers("passenger/gtas/pnrMessagePg75.txt").first?.booking?.locator == "2LS6KP")
    }

    @Test func everyGTASSampleDecodesExceptTheMalformedOnes() throws {
        let malformed: [String: String] = [
            // Text after the interchange and no terminator on UNZ.
            "pnrBadFormat.txt": "segment 28 (UNZ): input ends inside the segment",
            // No ORG (sending system) in the message header.
            "pnrNoOrgMsg.txt": "no ORG segment",
        ]
        var decoded = 0
        for path in try fixtureFiles("passenger/gtas") {
            let name = String(path.split(separator: "/").last!)
            let bytes = try fixture(path)
            if let expected = malformed[name] {
                let error = try #require(decodeError(bytes, as: nil, options: DecodeOptions(cardHashKey: cardKey)), "\(name)")
                #expect(error.description.contains(expected), "\(name): \(error)")
                continue
            }
            // danglingMetaCharacter.txt: named for a regex bug in GTAS ('*' as terminator); it is
            // well-formed apart from a UNT without reference, which feeds do send.
            let events = try FeedDecoder.decode(bytes, as: nil, options: DecodeOptions(cardHashKey: cardKey))
            #expect(!events.isEmpty, "\(name)")
            for case .passenger(let p) in events {
                #expect(!p.traveller.surname.isEmpty, "\(name)")
                #expect(p.flights?.isEmpty != true, "\(name)")
            }
            decoded += 1
        }
        #expect(decoded == 37)
    }
}

@Suite struct ISO20022Tests {
    @Test func pacs008WithApplicationHeaderAndEnvelope() throws {
        let tx = try #require(try transactions("payments/iso20022/CBPR+ c.52.1.a pacs.008-AtoB.xml").first)
        #expect(tx.id == "8a562c67-ca16-48ba-b074-65581be6f001")   // the UETR
        #expect(tx.amount == Decimal(750_000))
        #expect(tx.currency == "EUR")
        #expect(tx.ts == EventTime(rfc3339: "2020-11-24T09:14:47Z"))
        #expect(tx.debtor == Party(account: "98756925", name: "ABC Investments", country: "GB", bic: "RBOSGB2LXXX", address: "36 Laurie Street, London"))
        #expect(tx.creditor.account == "DE8547812")
        #expect(tx.creditor.name == "Allianz")
        #expect(tx.creditor.bic == "DEUTDEFFXXX")
        #expect(tx.source?.institution == "RBOSGB2LXXX")
        #expect(tx.source?.format == "pacs.008")
    }

    @Test("a private person's identity: date of birth, passport or national id, phone, e-mail")
    func privateIdentification() throws {
        let text = String(decoding: try fixture("payments/iso20022/CBPR+ c.52.1.a pacs.008-AtoB.xml"), as: UTF8.self)
            .replacingOccurrences(of: "<Nm>ABC Investments</Nm>", with: """
                <Nm>Zoe Muller</Nm><Id><PrvtId><DtAndPlcOfBirth><BirthDt>1990-04-02</BirthDt><CityOfBirth>Bern</CityOfBirth>\
                <CtryOfBirth>CH</CtryOfBirth></DtAndPlcOfBirth><Othr><Id>TAX-77</Id><SchmeNm><Cd>TXID</Cd></SchmeNm></Othr>\
                <Othr><Id>X1234567</Id><SchmeNm><Cd>CCPT</Cd></SchmeNm></Othr></PrvtId></Id>\
                <CtctDtls><PhneNb>+41-31-5550000</PhneNb><MobNb>+41-79-5551234</MobNb><EmailAdr>zoe@example.ch</EmailAdr></CtctDtls>
                """)
        let events = try FeedDecoder.decode(Array(text.utf8), as: .pacs008)
        guard case .transaction(let tx) = try #require(events.first) else { Issue.record("not a transaction"); return }
        #expect(tx.debtor.name == "Zoe Muller")
        #expect(tx.debtor.dob == "1990-04-02")
        #expect(tx.debtor.idNumber == "X1234567")   // the passport, not the tax id
        #expect(tx.debtor.phone == "+41-79-5551234")
        #expect(tx.debtor.email == "zoe@example.ch")
        #expect(tx.creditor.dob == nil && tx.creditor.idNumber == nil)
    }

    @Test func coverPaymentsCarryTheUnderlyingCustomers() throws {
        let cov = try #require(try transactions("payments/iso20022/CBPR+ p.2.3.1.a pacs.009.cov-AtoB.xml").first)
        #expect(cov.debtor.name == "A Debiter")
        #expect(cov.debtor.account == "25698745")
        #expect(cov.creditor.name == "B Creditor Co")
        #expect(cov.creditor.country == "ES")
        #expect(cov.amount == Decimal(string: "65784.32"))
        // A plain pacs.009 moves money between the institutions themselves.
        let fi = try #require(try transactions("payments/iso20022/CBPR+ p.2.2.1 pacs.009-BtoC.xml").first)
        #expect(fi.debtor.bic == "RBOSGB2LXXX")
        #expect(fi.creditor.bic == "EVSEFIHHXXX")
        #expect(fi.reference == "Invoice: 456464-9663")
    }

    @Test func returnsFlowBackToTheOriginalDebtor() throws {
        let r = try #require(try transactions("payments/iso20022/CBPR+ p.2.3.1.a pacs.004-BtoA.xml").first)
        #expect(r.amount == Decimal(string: "65784.32"))
        #expect(r.reference == "return reason AC04")
        #expect(r.debtor.bic == "CAIXESBB")
        #expect(r.creditor.bic == "CLYDGB2S")
        // Prefixed namespaces (pacs:Document) and a party identified only by name.
        let prefixed = try #require(try transactions("payments/iso20022/mt103_pacs_004_B_A.xml").first)
        #expect(prefixed.creditor.account == "name:GB Engineering")
        #expect(prefixed.amount == Decimal(136_480))
        #expect(prefixed.currency == "USD")
    }

    @Test("interbank direct debits move money from the debited party to the creditor")
    func interbankDirectDebits() throws {
        // pacs.003: the creditor's bank collects from a customer of another bank.
        let customer = try #require(try transactions("payments/iso20022/CBPR+ p.3.1.1 pacs.003 AtoB.xml").first)
        #expect(customer.id == "7a562c67-ca16-48ba-b074-65581be6f001")
        #expect(customer.amount == Decimal(45_250) && customer.currency == "EUR")
        #expect(customer.channel == "ach")
        #expect(customer.debtor.name == "NT Asset Management" && customer.debtor.account == "25698745")
        #expect(customer.debtor.bic == "RBOSGB2L" && customer.debtor.country == "GB")
        #expect(customer.creditor.name == "OP Corporate Bank" && customer.creditor.account == "65479512")
        #expect(customer.creditor.bic == "NDEAFIHH")
        #expect(customer.source?.format == "pacs.003")
        // pacs.010: an institution debits another's account; the creditor is its credit instruction's.
        let fi = try #require(try transactions("payments/iso20022/CBPR+ p.2.4.1 pacs.010 EtoB.xml").first)
        #expect(fi.amount == Decimal(350_000) && fi.currency == "DKK")
        #expect(fi.debtor.bic == "CLYDGB2S" && fi.debtor.account == "25698745")
        #expect(fi.creditor.bic == "NDEADKK2XXX" && fi.creditor.account == "65479512")
        #expect(fi.channel == "wire")
        // A direct debit that names no transaction is an error, not silence.
        let empty = String(decoding: try fixture("payments/iso20022/CBPR+ p.2.4.1 pacs.010 EtoB.xml"), as: UTF8.self)
            .replacingOccurrences(of: #"<pacs:DrctDbtTxInf>[\s\S]*</pacs:DrctDbtTxInf>"#, with: "", options: .regularExpression)
        #expect(decodeError(Array(empty.utf8), as: .pacs008)?.description.contains("no CdtInstr/DrctDbtTxInf") == true)
    }

    @Test func initiationsAndCollections() throws {
        let pain = try transactions("payments/iso20022/musterfile_pain.001_Nov2020.xml")
        #expect(pain.count == 8)
        #expect(pain[0].id == "EndToEndId-01-01")
        #expect(pain[0].debtor.account == "CH0309000000250090342")
        #expect(pain[0].creditor.name == "Maria Bernasconi")
        #expect(pain[0].amount == Decimal(string: "6.2"))
        #expect(pain[0].currency == "CHF")
        #expect(pain[0].reference == "Rechnung 1122")
        let sepa = try #require(try transactions("payments/iso20022/sepa_payment_naujas_1.xml").first)
        #expect(sepa.creditor == Party(account: "LT007400000000000000", name: "IMONE Z", country: "LT", bic: "SMPOLT22", address: "Adresas 123, Vilnius"))
        let dd = try transactions("payments/iso20022/pain008-musterfile.xml")
        #expect(dd.first?.channel == "ach")
        #expect(dd.first?.debtor.name == "Maria Bernasconi")
        #expect(dd.first?.creditor.name == "Robert Schneider SA")
    }

    @Test func statementEntriesAndNotifications() throws {
        let stmt = try transactions("payments/iso20022/FI_camt_053_sample.xml.xml")
        #expect(stmt.count == 13)
        let first = stmt[0]
        #expect(first.id == "091029ACCTSTMTARCH01")
        #expect(first.amount == Decimal(string: "1000.12"))
        #expect(first.debtor.account == "FI7433010001222090")   // DBIT: money leaves the statement account
        #expect(first.creditor.account == "UNIDENTIFIED")       // a salary batch: no single counterparty
        #expect(first.ts == EventTime(rfc3339: "2009-10-29T00:00:00Z"))
        // A batch booking whose transactions state their amounts is those transactions, each
        // paying its own creditor: 2,000.02 + 1,000.01 + 1,230.02 of the entry's 4,230.05.
        let batch = stmt.filter { $0.id.hasPrefix("091029ARCH03") }
        #expect(batch.map(\.id) == ["091029ARCH03001", "091029ARCH03002", "091029ARCH03003"])
        #expect(batch.map(\.amount).reduce(0, +) == Decimal(string: "4230.05"))
        #expect(batch.map(\.creditor.account) == ["29501800020582", "29501800020582", "29501800020574"])
        #expect(batch.allSatisfy { $0.debtor.account == "FI7433010001222090" && $0.creditor.name == "Creditor Company" })
        #expect(batch[1].reference == "Invoices 123 and 321")
        // Two charges under one reference keep distinct ids.
        #expect(stmt.suffix(2).map(\.id) == ["091029ARCH09001", "091029ARCH09001:2"])
        #expect(Set(stmt.map(\.id)).count == stmt.count)
        let credit = try transactions("payments/iso20022/FI_camt_054_sample.xml.xml")
        #expect(credit.first?.creditor.account == "FI7433010001222090")
        #expect(credit.contains { $0.channel == "ach" })
    }

    @Test func invalidAndNonTransactionMessages() throws {
        let malformed = try #require(decodeError(try fixture("payments/iso20022/invalid_file2"), as: nil))
        #expect(malformed.description == "iso20022: line 2: malformed XML: expected a name")
        let noNamespace = try #require(decodeError(try fixture("payments/iso20022/invalid_pain_v11.xml"), as: nil))
        #expect(noNamespace.description.contains("no ISO 20022 namespace"))
        // A status report is valid and moves no money: no events, no error.
        #expect(try FeedDecoder.decode(try fixture("payments/iso20022/valid_pacs_v11.xml"), as: nil).isEmpty)
        // Declared as one message type, received as another.
        let wrong = try #require(decodeError(try fixture("payments/iso20022/FI_camt_053_sample.xml.xml"), as: .pacs008))
        #expect(wrong.description.contains("this is a camt.053 message, not pacs008"))
        // A missing amount names the element by its path.
        let text = String(decoding: try fixture("payments/iso20022/CBPR+ c.52.1.a pacs.008-AtoB.xml"), as: UTF8.self)
        let noAmount = Array(text.replacingOccurrences(of: "<IntrBkSttlmAmt Ccy=\"EUR\">750000</IntrBkSttlmAmt>", with: "").utf8)
        let e = try #require(decodeError(noAmount, as: .pacs008))
        #expect(e.location == "/Envelope/Document/FIToFICstmrCdtTrf/CdtTrfTxInf")
        #expect(e.message == "missing IntrBkSttlmAmt (the amount)")
    }
}

/// Statements written to the published layouts (SWIFT's MT940/942/950 fields; the German banks'
/// `:86:` subfields; the Dutch banks' keyed `:86:`), as banks export them and in a FIN envelope.
@Suite struct SwiftStatementTests {
    func statements(_ name: String) throws -> [Transaction] {
        let bytes = try fixture("payments/statements/\(name)")
        #expect(FeedFormat.detect(bytes) == .mt940)
        // Each statement is a message of its own, and decoding the whole file gives the same.
        let whole = try transactions("payments/statements/\(name)")
        let one = try FeedDecoder.split(bytes, as: .mt940).flatMap { m in
            try FeedDecoder.decode(m.bytes, as: .mt940, options: DecodeOptions(lineOffset: m.lineOffset)).compactMap { e -> Transaction? in
                if case .transaction(let t) = e { return t } else { return nil }
            }
        }
        #expect(one == whole)
        return whole
    }

    @Test("a German export: two statements, subfields wrapped mid-key, a reversal, cash, a direct debit")
    func germanExport() throws {
        #expect(FeedDecoder.split(try fixture("payments/statements/german-export.sta"), as: .mt940).map(\.lineOffset) == [2, 16])
        let t = try statements("german-export.sta")
        #expect(t.count == 4)
        // A transfer out: the statement's account pays the counterparty ?30/?31/?32–?33 name.
        #expect(t[0].id == "A1B2C3D4E5F60001")
        #expect(t[0].ts == EventTime(year: 2024, month: 3, day: 12))
        #expect(t[0].amount == Decimal(string: "1200.5") && t[0].currency == "EUR" && t[0].channel == "wire")
        #expect(t[0].debtor.account == "9876543210")
        #expect(t[0].creditor == Party(account: "DE89370400440532013000", name: "Muster Handel GmbH Berlin", country: "DE", bic: "COBADEFFXXX"))
        #expect(t[0].reference == "Rechnung 2024-0042 Wartung")
        #expect(t[0].source?.format == "mt940")
        // A cash withdrawal (business transaction code 083) with no counterparty; no bank reference, so a made-up id.
        #expect(t[1].id == "9876543210:00012/001:240313:2")
        #expect(t[1].channel == "cash" && t[1].debtor.account == "9876543210" && t[1].creditor.account == "UNIDENTIFIED")
        #expect(t[1].reference == "Geldautomat Hauptbahnhof")
        // A reversed credit takes the money back out.
        #expect(t[2].debtor.account == "9876543210" && t[2].creditor.name == "Muster Handel GmbH")
        #expect(t[2].amount == Decimal(string: "99.9"))
        // The second statement: a direct debit with no entry date, named but without an account.
        #expect(t[3].ts == EventTime(year: 2024, month: 3, day: 14))
        #expect(t[3].channel == "ach" && t[3].creditor.name == "Stadtwerke Muster" && t[3].creditor.account == "UNIDENTIFIED")
        #expect(t[3].id == "9876543210:00013/001:240314:1")
    }

    @Test("SEPA remittance ends at a different ultimate party; the bank's reference ends at a second '//'")
    func sepaRemittanceAndReferences() throws {
        let text = """
        :20:STMT1
        :25:10020030/1234567
        :28C:1/1
        :60F:C240301EUR100,00
        :61:2403010301D50,00NTRFOWNREF//BANKREF//EXTRA
        :86:116?00SEPA?20EREF+E1?21SVWZ+Miete Mae?22rz ABWA+Vermieter?23 GmbH?30BANKDEFF?31DE02100100100006820101?32Haus
        ?33 AG
        :61:2403010301C7,5NTRFNONREF
        :86:166?00GUTSCHRIFT?20KREF+K1 SVWZ+Beitrag?21ABWE+Verein
        :62F:C240301EUR57,50
        """
        let events = try FeedDecoder.decode(Array(text.utf8), as: .mt940)
        let t = events.compactMap { e -> Transaction? in if case .transaction(let t) = e { t } else { nil } }
        try #require(t.count == 2)
        #expect(t[0].id == "BANKREF" && t[0].reference == "Miete Maerz")
        #expect(t[0].creditor == Party(account: "DE02100100100006820101", name: "Haus AG", country: "DE", bic: "BANKDEFF"))
        #expect(t[1].reference == "Beitrag" && t[1].id == "1234567:1/1:240301:2")
    }

    @Test("an export in ISO 8859-1, as many banks write them, keeps its accented names")
    func latin1Export() throws {
        let text = String(decoding: try fixture("payments/statements/german-export.sta"), as: UTF8.self)
            .replacingOccurrences(of: "Muster Handel GmbH?33 Berlin", with: "M\u{FC}ller & S\u{F6}hne?33 K\u{F6}ln")
        let latin1 = try #require(text.data(using: .isoLatin1))
        #expect(String(data: latin1, encoding: .utf8) == nil)
        let t = try FeedDecoder.decode(Array(latin1), as: nil).compactMap { e -> Transaction? in
            if case .transaction(let t) = e { return t } else { return nil }
        }
        #expect(t.first?.creditor.name == "M\u{FC}ller & S\u{F6}hne K\u{F6}ln")
        // With a byte-order mark in front, as Windows tools save a file.
        let bom = [0xEF, 0xBB, 0xBF] + (try fixture("payments/statements/mt942-export.sta"))
        #expect(FeedFormat.detect(bom) == .mt940)
        #expect(try FeedDecoder.decode(bom, as: nil).count == 1)
    }

    @Test("a Dutch export: keyed details, the counterparty's account on the statement line, an account with its currency")
    func dutchExport() throws {
        let t = try statements("dutch-export.sta")
        #expect(t.count == 4)
        #expect(t[0].debtor == Party(account: "NL91ABNA0417164300", country: "NL"))
        #expect(t[0].creditor == Party(account: "NL20INGB0001234567", name: "J. DE VRIES", country: "NL"))
        #expect(t[0].amount == Decimal(string: "125.4") && t[0].channel == "other")
        #expect(t[0].reference == "Factuur 9001 maart")
        #expect(t[1].debtor == Party(account: "DE75512108001245126199", name: "Anna Schmidt", country: "DE", bic: "SOGEDEFFXXX"))
        #expect(t[1].creditor.account == "NL91ABNA0417164300")
        #expect(t[1].reference == "Huur april")
        #expect(t[1].id == "NL91ABNA0417164300:0:240403:2")
        // Subfields marked with `>`, and free text padded to columns.
        #expect(t[2].creditor == Party(account: "NL39RABO0300065264", name: "VERHUUR BV", country: "NL"))
        #expect(t[2].reference == "HUUR BERGING APRIL")
        #expect(t[3].creditor.account == "UNIDENTIFIED")
        #expect(t[3].reference == "BETAALAUTOMAAT 05.04.24/10.12 BAKKERIJ DE KORENSCHOOF PAS123")
    }

    @Test("an MT950 in a FIN envelope and an MT942 interim report")
    func envelopeAndInterim() throws {
        let t = try statements("mt950.fin")
        #expect(t.map(\.id) == ["B9Q7", "C4X1"])
        #expect(t[0].debtor == Party(account: "12345678", bic: "NWBKGB2L") && t[0].reference == "0001234")
        #expect(t[1].creditor.account == "12345678" && t[1].channel == "cheque")
        #expect(t.allSatisfy { $0.currency == "GBP" && $0.source?.format == "mt950" && $0.source?.institution == "NWBKGB2L" })
        // A bank reference the statement repeats gives way to the line's position.
        let repeated = String(decoding: try fixture("payments/statements/mt950.fin"), as: UTF8.self).replacingOccurrences(of: "//C4X1", with: "//B9Q7")
        let twice = try FeedDecoder.decode(Array(repeated.utf8), as: .mt940).map(\.id)
        #expect(twice == ["B9Q7", "12345678:88/1:240405:2"])
        let interim = try statements("mt942-export.sta")
        #expect(interim.count == 1)
        #expect(interim[0].currency == "EUR" && interim[0].source?.format == "mt942")
        #expect(interim[0].creditor == Party(account: "FR7630006000011234567890189", name: "Societe Exemple", country: "FR", bic: "AGRIFRPP"))
        #expect(interim[0].debtor.account == "DE89370400440532013000" && interim[0].reference == "Commande 55")
    }

    @Test("a statement line that cannot be read is named by its line and field")
    func badStatementLines() throws {
        let text = String(decoding: try fixture("payments/statements/german-export.sta"), as: UTF8.self)
        let noMark = text.replacingOccurrences(of: ":61:240314D75,NDDTNONREF", with: ":61:240314X75,NDDTNONREF")
        #expect(decodeError(Array(noMark.utf8), as: .mt940)?.description.contains("line 21, field :61:") == true)
        #expect(decodeError(Array(noMark.utf8), as: .mt940)?.description.contains("no debit/credit mark") == true)
        let noType = text.replacingOccurrences(of: ":61:240314D75,NDDTNONREF", with: ":61:240314D75,")
        #expect(decodeError(Array(noType.utf8), as: .mt940)?.description.contains("no transaction type") == true)
        let noAccount = text.replacingOccurrences(of: ":25:50070010/9876543210\r\n:28C:00013", with: ":28C:00013")
        #expect(decodeError(Array(noAccount.utf8), as: .mt940)?.description.contains("mandatory field :25:") == true)
        let noBalance = text.replacingOccurrences(of: ":60F:C240313EUR11449,60", with: "")
        #expect(decodeError(Array(noBalance.utf8), as: .mt940)?.description.contains("currency is unknown") == true)
        #expect(decodeError(Array("BANKDEFFXXX\nno statement here\n".utf8), as: .mt940)?.description.contains("no line begins with :20:") == true)
        // An MT101 on a statements input says what it is.
        let mt103 = try fixture("payments/swift_mt/MT101.fin")
        #expect(decodeError(mt103, as: .mt940)?.description.contains("MT101 is not a statement") == true)
    }
}

@Suite struct SwiftAndFedwireTests {
    @Test func rjeBatchWithAcknowledgements() throws {
        let bytes = try fixture("payments/swift_mt/MT103-bulk-with-ack.rje")
        #expect(FeedFormat.detect(bytes) == .mt103)
        let txs = try transactions("payments/swift_mt/MT103-bulk-with-ack.rje")
        #expect(txs.count == 3)
        let t = txs[0]
        #expect(t.id == "234234233")
        #expect(t.amount == Decimal(3700))
        #expect(t.currency == "USD")
        #expect(t.ts == EventTime(rfc3339: "2017-04-25T16:12:00Z"))
        #expect(t.debtor.account == "0000000000")
        #expect(t.debtor.name == "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        #expect(t.debtor.bic == "CCCCNGLA")
        #expect(t.creditor.name == "BBBBBBBBBBBBBBBB")
        #expect(t.reference == "/RFB/042517477151 REFERENCE:1500009007 TRANSFER")
        #expect(txs[1].amount == Decimal(string: "1321.00"))
        #expect(txs[2].amount == Decimal(string: "1417.8"))
    }

    @Test func oneMalformedMessageInABatchFailsAlone() throws {
        let bytes = try fixture("payments/swift_mt/MT103-out-ack.rje")
        let messages = FeedDecoder.split(bytes, as: .mt103)
        var good: [Transaction] = [], errors: [FormatError] = []
        for m in messages {
            do {
                for case .transaction(let t) in try FeedDecoder.decode(m.bytes, as: .mt103) { good.append(t) }
            } catch { errors.append(error) }
        }
        // Each message knows how many lines of the batch precede it.
        #expect(messages.first?.lineOffset == 0)
        #expect(messages.map(\.lineOffset) == messages.map(\.lineOffset).sorted())
        #expect(try #require(messages.last).lineOffset > 100)
        #expect(good.count == 12)
        #expect(errors.count == 1)
        #expect(errors.first?.description.contains("expected a block '{n:'") == true)
        // UETR from block 3 is the id when present.
        #expect(good.first?.id == "8579f4a4-a547-463e-ae63-e7c6620d59b4")
        // A message type Vigil does not read is named.
        let free = String(decoding: try fixture("payments/swift_mt/MT101.fin"), as: UTF8.self).replacingOccurrences(of: "{2:O101", with: "{2:O199")
        let unread = try #require(decodeError(Array(free.utf8), as: nil))
        #expect(unread.description.contains("MT199 is not read by Vigil"))
    }

    @Test("a message cut off right after its text block opens is an error, not a crash")
    func truncatedTextBlock() throws {
        // Found by libFuzzer: the search for the block's end inverted its range and trapped.
        for cut in ["{1:F01BANKBEBBAXXX0000000000}{2:O1031200240405BANKBEBBAXXX00000000002404051200N}{4:",
                    "{1:F01BANKBEBBAXXX0000000000}{2:O1031200240405BANKBEBBAXXX00000000002404051200N}{4:\n",
                    "{2:I202CHASUS33XXXXN}{4:"] {
            let error = decodeError(Array(cut.utf8), as: nil)
            #expect(error?.description.contains("text block does not end with a line '-}'") == true, "\(cut)")
        }
    }

    @Test("CRLF line endings, SWIFT FIN's own, read as LF ones do")
    func crlfLineEndings() throws {
        for path in ["payments/swift_mt/MT101.fin", "payments/fedwire_faim/fedWireMessage-CustomerTransfer.txt"] {
            let lf = try fixture(path)
            let crlf = Array(String(decoding: lf, as: UTF8.self).replacingOccurrences(of: "\n", with: "\r\n").utf8)
            let events = try FeedDecoder.decode(crlf, as: nil)
            #expect(!events.isEmpty, "\(path)")
            #expect(events == (try FeedDecoder.decode(lf, as: nil)), "\(path)")
        }
    }

    @Test("lines end at LF or CRLF; a CR alone is text, as a String's Characters have it")
    func linesSplitAsCharactersDo() {
        let texts = ["", "a", "a\n", "\n\n", "a\r\nb\nc", "a\r\n\r\nb\r\n", "a\rb\n", "a\r", "\r\n", "\r\r\nx",
                     "é\r\nü\n", "x\u{301}\ny"]
        for text in texts {
            for omitting in [false, true] {
                // The Character-by-Character split this replaced, as the reference.
                let byCharacter = text.split(omittingEmptySubsequences: omitting, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
                #expect(text.lines(omittingEmpty: omitting) == byCharacter, "\(text.debugDescription), omitting: \(omitting)")
                #expect(text.dropFirst(0).lines(omittingEmpty: omitting) == byCharacter, "\(text.debugDescription) as a Substring")
            }
        }
    }

    @Test("MT text fields: a tag is two digits and at most one more character; values continue on the lines below")
    func fieldLinesTagsAndContinuations() throws {
        let body = "\r\n:20:REF1\r\n:32A:190425USD3700,\r\n:50K:/123\r\nJOHN\r\n\r\n:1234:NOT A TAG\r\n:7:NOR THIS\r\n:59:/DE1\r\nANNA\r"
        let fields = try SwiftMT.fieldLines(body, firstLine: 10, format: .mt103, block: "block 4")
        #expect(fields.map(\.tag) == ["20", "32A", "50K", "59"])
        #expect(fields.map(\.value) == ["REF1", "190425USD3700,", "/123\nJOHN\n:1234:NOT A TAG\n:7:NOR THIS", "/DE1\nANNA\r"])
        #expect(fields.map(\.line) == [11, 12, 13, 18])
        let lf = try SwiftMT.fieldLines(body.replacingOccurrences(of: "\r\n", with: "\n"), firstLine: 10, format: .mt103, block: "block 4")
        #expect(lf.map(\.value) == fields.map(\.value))
        #expect(throws: FormatError.self) { try SwiftMT.fieldLines("\nFREE TEXT\n:20:X", firstLine: 1, format: .mt103, block: "block 4") }
        do {
            _ = try SwiftMT.fieldLines("\n\nFREE TEXT\n:20:X", firstLine: 4, format: .mt103, block: "block 4")
        } catch {
            #expect(error.description.contains("line 6, block 4"), "\(error)")
            #expect(error.description.contains("text before the first field tag: 'FREE TEXT'"), "\(error)")
        }
    }

    @Test("SWIFT amounts: one decimal comma, digits only")
    func swiftAmounts() {
        #expect(SwiftMT.swiftAmount("3700,".utf8) == Decimal(3700))
        #expect(SwiftMT.swiftAmount("1814,28".utf8) == Decimal(string: "1814.28"))
        #expect(SwiftMT.swiftAmount(",5".utf8) == Decimal(string: "0.5"))
        for bad in ["", ",", "3700", "1,814,28", "1814.28", "-5,0", "18 14,28", "1٣,5"] {
            #expect(SwiftMT.swiftAmount(bad.utf8) == nil, "\(bad)")
        }
    }

    @Test("Fedwire's known tags are found by binary search: in order, each its own slot, no other")
    func fedwireTagSlots() {
        #expect(Fedwire.knownTags == Fedwire.knownTags.sorted() && Set(Fedwire.knownTags).count == Fedwire.knownTags.count)
        #expect(Fedwire.knownTags.indices.allSatisfy { Fedwire.Tags.slot(Fedwire.knownTags[$0]) == $0 })
        for other in [0, 1000, 1599, 7034, 9001, 9999] { #expect(Fedwire.Tags.slot(other) == nil, "\(other)") }
    }

    @Test("Fedwire amounts in cents become dollars without trailing zeros")
    func fedwireDollars() {
        let cases: [(Int64, String)] = [(0, "0"), (5, "0.05"), (50, "0.5"), (100, "1"), (1_234_567, "12345.67"), (150_000, "1500"), (999_999_999_999, "9999999999.99")]
        for (cents, text) in cases {
            #expect(DecimalText.format(Fedwire.dollars(cents)) == text, "\(cents)")
            #expect(Fedwire.dollars(cents) == Decimal(cents) / 100, "\(cents)")
        }
    }

    /// MT200, MT203 and MT204 written to SWIFT's published layouts (no sample of them here).
    func fin(_ text: String) throws -> [Transaction] {
        try FeedDecoder.decode(Array(text.utf8), as: nil).compactMap { e -> Transaction? in
            if case .transaction(let t) = e { return t } else { return nil }
        }
    }

    @Test("MT200, MT203 and MT204: institution transfers to its own account, several at once, and direct debits")
    func institutionTransfers() throws {
        let own = try fin("""
            {1:F01BANKBEBBAXXX0000000000}{2:O2001000240405BANKBEBBAXXX00000000002404051000N}{4:
            :20:OWN-77
            :32A:240405EUR250000,
            :53B:/987654
            :57A:/112233
            BNPAFRPP
            :72:/BNF/LIQUIDITY
            -}
            """)
        #expect(own.map(\.id) == ["OWN-77"])
        #expect(own.first?.debtor == Party(account: "987654", bic: "BANKBEBB"))
        #expect(own.first?.creditor == Party(account: "112233", bic: "BNPAFRPP"))
        #expect(own.first?.amount == Decimal(250_000) && own.first?.source?.format == "mt200")

        let several = try fin("""
            {1:F01BANKDEFFAXXX0000000000}{2:O2031200240405CHASUS33AXXX00000000002404051200N}{4:
            :20:MULTI-0405
            :19:1500000,
            :30:240405
            :52A:CHASUS33
            :20:BATCH-A1
            :21:REL-1
            :32B:USD1000000,
            :58A:DEUTDEFF
            :20:BATCH-A2
            :21:REL-2
            :32B:USD500000,
            :58A:BNPAFRPP
            -}
            """)
        #expect(several.map(\.id) == ["MULTI-0405/BATCH-A1", "MULTI-0405/BATCH-A2"])
        #expect(several.map(\.amount) == [Decimal(1_000_000), Decimal(500_000)])
        #expect(several.allSatisfy { $0.debtor.bic == "CHASUS33" && $0.ts == EventTime(year: 2024, month: 4, day: 5, hour: 12) })
        #expect(several.map(\.creditor.bic) == ["DEUTDEFF", "BNPAFRPP"])

        let debits = try fin("""
            {1:F01DEUTDEFFAXXX0000000000}{2:I204CHASUS33XXXXN}{4:
            :20:DD-0405
            :19:7500,
            :30:240405
            :58A:DEUTDEFF
            :20:DD-1
            :21:INV-11
            :32B:EUR5000,
            :53A:COBADEFF
            :20:DD-2
            :21:INV-12
            :32B:EUR2500,
            :53A:/1234567
            BYLADEMM
            -}
            """)
        // An input message has no send time: the value date (:30:) dates it.
        #expect(debits.map(\.ts) == [EventTime(year: 2024, month: 4, day: 5), EventTime(year: 2024, month: 4, day: 5)])
        #expect(debits.map(\.debtor) == [Party(account: "COBADEFF", bic: "COBADEFF"), Party(account: "1234567", bic: "BYLADEMM")])
        #expect(debits.allSatisfy { $0.creditor.bic == "DEUTDEFF" && $0.source?.format == "mt204" })
        // A direct debit that does not say whom it debits is named by its reference.
        let unnamed = Array("""
            {1:F01DEUTDEFFAXXX0000000000}{2:I204CHASUS33XXXXN}{4:
            :20:DD-0405
            :30:240405
            :20:DD-1
            :32B:EUR5000,
            -}
            """.utf8)
        #expect(decodeError(unnamed, as: .mt202)?.description.contains("transaction 'DD-1': field :53a:") == true)
    }

    @Test("an MT101 request for transfer is one event per transaction, sequence A shared")
    func requestsForTransfer() throws {
        let t = try #require(try transactions("payments/swift_mt/MT101.fin").first)
        #expect(t.id == "DG942_171206-004/010735904")
        #expect(t.amount == Decimal(14) && t.currency == "CNY")
        #expect(t.debtor.account == "344110001637" && t.debtor.name == "TESTAR00AXXX")
        #expect(t.creditor.account == "344110000361" && t.creditor.name == "CASH CUSTOMER I")
        #expect(t.creditor.bic == "CIBKCNBJ")
        #expect(t.reference == "/RFB/C767405OCP021001")
        #expect(t.source?.format == "mt101")
        // Sent 2017-05-10 08:24 (block 2's input time), not the requested execution date.
        #expect(t.ts == EventTime(year: 2017, month: 5, day: 10, hour: 8, minute: 24))
        // Two transactions, the second naming its own ordering customer; an input message
        // (no send time) is dated by its requested execution date (:30:).
        let text = String(decoding: try fixture("payments/swift_mt/MT101.fin"), as: UTF8.self)
            .replacingOccurrences(of: "{2:O1010824170510TESTAR00AXXX94149133901705101425N}", with: "{2:I101CIBKCNBJXXXXN}")
            .replacingOccurrences(of: ":71A:SHA\n", with: ":71A:SHA\n:21:010735905\n:32B:EUR1250,50\n:50H:/NL91ABNA0417164300\nJAN JANSEN\n:59:/DE89370400440532013000\nMAX MUSTERMANN\n:71A:OUR\n")
        let two = try FeedDecoder.decode(Array(text.utf8), as: .mt103).compactMap { e -> Transaction? in
            if case .transaction(let t) = e { return t } else { return nil }
        }
        #expect(two.map(\.id) == ["DG942_171206-004/010735904", "DG942_171206-004/010735905"])
        #expect(two.map(\.ts) == [EventTime(year: 2017, month: 5, day: 2), EventTime(year: 2017, month: 5, day: 2)])
        #expect(two.map(\.debtor.account) == ["344110001637", "NL91ABNA0417164300"])
        #expect(two[1].debtor.country == "NL" && two[1].creditor.name == "MAX MUSTERMANN")
        #expect(two[1].amount == Decimal(string: "1250.5") && two[1].currency == "EUR")
        // A transaction without its amount is named by its reference and line.
        let noAmount = text.replacingOccurrences(of: ":32B:EUR1250,50\n", with: "")
        let error = try #require(decodeError(Array(noAmount.utf8), as: .mt103))
        #expect(error.description.contains("transaction '010735905': mandatory field :32B:"))
    }

    @Test func fedwireTransfersAndErrors() throws {
        let t = try #require(try transactions("payments/fedwire_faim/fedWireMessage-CustomerTransfer.txt").first)
        #expect(t.id == "IMAD:20190410Source08000001")
        #expect(t.amount == Decimal(string: "12345.67"))
        #expect(t.currency == "USD")
        #expect(t.debtor.name == "Name")
        #expect(t.creditor.institution == "FI Name")
        #expect(t.reference == "LineOne LineTwo LineThree LineFour")
        #expect(t.source?.institution == "121042882")
        // Fixed-width (space-padded) form reads the same as the '*'-delimited one.
        let fixed = try #require(try transactions("payments/fedwire_faim/fedWireMessage-CustomerTransferPlus.txt").first)
        #expect(fixed.amount == Decimal(string: "12345.67"))
        #expect(fixed.debtor.name == "Name")
        #expect(try transactions("payments/fedwire_faim/fedWireMessage-BankDrawDownRequest.txt").isEmpty)
        let cases: [(String, String)] = [
            ("fedWireMessage-InvalidTag.txt", "tag {1599}: unknown tag"),
            ("fedWireMessage-MissingRequiredTag.txt", "only allowed in an SVC message"),
            ("fedWireMessage.txt", "transaction type code 'XXY'"),
        ]
        for (file, expected) in cases {
            let e = try #require(decodeError(try fixture("payments/fedwire_faim/\(file)"), as: .fedwire), "\(file)")
            #expect(e.description.contains(expected), "\(file): \(e)")
        }
    }
}

@Suite struct CSVTests {
    let export = """
        TXN_ID;ACCOUNT_ID;COUNTER_PARTY;TYPE;AMOUNT;STEP
        1;A-1;B-2;CASH-OUT;99,87;1
        2;A-1;"B, 3";WIRE;-1.250,50;2

        """

    var mapping: CSVMapping {
        var m = CSVMapping(columns: ["id": "TXN_ID", "debtor.account": "ACCOUNT_ID", "creditor.account": "COUNTER_PARTY",
                                     "channel": "TYPE", "amount": "AMOUNT", "ts": "STEP"])
        m.delimiter = UInt8(ascii: ";")
        m.decimalSeparator = UInt8(ascii: ",")
        m.time = .steps(origin: EventTime(rfc3339: "2017-01-01T00:00:00Z")!, length: .seconds(86_400))
        m.sign = .negativeReverses
        m.currency = "EUR"
        m.channelValues = ["CASH-OUT": "cash"]
        return m
    }

    @Test func mappedColumnsDecimalCommaStepsAndSign() throws {
        let events = try FeedDecoder.decode(Array(export.utf8), as: .csv, options: DecodeOptions(csv: mapping))
        let txs = events.compactMap { if case .transaction(let t) = $0 { t } else { nil } }
        #expect(txs.count == 2)
        #expect(txs[0].amount == Decimal(string: "99.87"))
        #expect(txs[0].channel == "cash")
        #expect(txs[0].ts == EventTime(rfc3339: "2017-01-02T00:00:00Z"))
        // Negative: the other direction; quoted field with the delimiter inside; thousands dots dropped.
        #expect(txs[1].amount == Decimal(string: "1250.50"))
        #expect(txs[1].debtor.account == "B, 3")
        #expect(txs[1].creditor.account == "A-1")
        #expect(txs[1].channel == "wire")
        // One feed message per row, each with the header, and the row's line in the file.
        let rows = FeedDecoder.split(Array("a,b\n1,2\n\n3,4\n".utf8), as: .csv)
        #expect(rows.map { String(decoding: $0.bytes, as: UTF8.self) } == ["a,b\n1,2\n", "a,b\n3,4\n"])
        #expect(rows.map(\.lineOffset) == [0, 2])
    }

    @Test func jsonLinesAreCutIntoLinesAndAnObjectStaysWhole() {
        let lines = FeedDecoder.split(Array("{\"id\":\"a\"}\n\n{\"id\":\"b\"}\n".utf8), as: .json)
        #expect(lines.map { String(decoding: $0.bytes, as: UTF8.self) } == [#"{"id":"a"}"#, #"{"id":"b"}"#])
        #expect(lines.map(\.lineOffset) == [0, 2])
        let pretty = Array("{\n  \"id\": \"a\"\n}\n".utf8)
        #expect(FeedDecoder.split(pretty, as: .json).map(\.bytes) == [pretty])
    }

    /// Rows cut from a file keep their file line in errors and in the ids made up for rows
    /// without an id column; with no file, ids come from the message's origin.
    @Test func rowsCutFromAFileKeepTheirLines() throws {
        var m = mapping
        m.columns["id"] = nil
        let file = "TXN_ID;ACCOUNT_ID;COUNTER_PARTY;TYPE;AMOUNT;STEP\n1;A-1;B-2;CASH-OUT;99,87;1\n\n2;A-1;B-3;WIRE;1.250,50;2\n3;A-2;B-3;WIRE;5,00;3\n"
        let rows = FeedDecoder.split(Array(file.utf8), as: .csv)
        var ids: [String] = []
        for row in rows {
            let options = DecodeOptions(csv: m, file: "export.csv", lineOffset: row.lineOffset)
            for case .transaction(let t) in try FeedDecoder.decode(row.bytes, as: .csv, options: options) { ids.append(t.id) }
        }
        #expect(ids == ["export.csv:2", "export.csv:4", "export.csv:5"])
        let bad = FeedDecoder.split(Array(file.replacingOccurrences(of: "1.250,50", with: "lots").utf8), as: .csv)
        let errors = bad.compactMap { decodeError($0.bytes, as: .csv, options: DecodeOptions(csv: m, lineOffset: $0.lineOffset)) }
        #expect(errors.map(\.description) == ["csv: line 4, column 'AMOUNT': 'lots' is not a decimal amount"])
        let third = try #require(rows.last)
        let fromKafka = try FeedDecoder.decode(third.bytes, as: .csv, options: DecodeOptions(csv: m, origin: "fin.csv/0/41"))
        #expect(fromKafka.map(\.id) == ["fin.csv/0/41:2"])
    }

    @Test("an export in ISO 8859-1 keeps its accented column names and values")
    func latin1Export() throws {
        var m = mapping
        m.columns["creditor.account"] = "EMPFÄNGER"
        m.columns["reference"] = "ZWECK"
        let text = "TXN_ID;ACCOUNT_ID;EMPFÄNGER;TYPE;AMOUNT;STEP;ZWECK\n1;A-1;Müller;WIRE;99,87;1;Miete Köln\n"
        let latin1 = Array(try #require(text.data(using: .isoLatin1)))
        let t = try FeedDecoder.decode(latin1, as: .csv, options: DecodeOptions(csv: m)).compactMap { e -> Transaction? in
            if case .transaction(let t) = e { return t } else { return nil }
        }
        #expect(t.map(\.creditor.account) == ["Müller"])
        #expect(t.map(\.reference) == ["Miete Köln"])
    }

    @Test("amounts as exports write them: grouped thousands, a minus behind, parentheses")
    func exportAmounts() {
        let point = UInt8(ascii: "."), comma = UInt8(ascii: ",")
        let cases: [(String, UInt8, String?)] = [
            ("1,234,567.89", point, "1234567.89"), ("1.234.567,89", comma, "1234567.89"),
            ("1'234.50", point, "1234.5"), ("1 234,50", comma, "1234.5"),
            ("1\u{00A0}234,50", comma, "1234.5"), ("1\u{202F}234,50", comma, "1234.5"),
            ("+99.87", point, "99.87"), ("-99.87", point, "-99.87"),
            ("123.45-", point, "-123.45"), ("(123.45)", point, "-123.45"), ("(1.234,00)", comma, "-1234"),
            ("12,34,567.50", point, "1234567.5"),
            ("-(5)", point, nil), ("(-5)", point, nil), ("lots", point, nil), ("", point, nil),
            // A separator that does not group thousands is a wrong decimal separator, not a grouping.
            ("99,87", point, nil), ("1.5", comma, nil), ("1,2345.00", point, nil), ("1.234,5.6", comma, nil), (",5", point, nil),
        ]
        for (text, decimal, expected) in cases {
            #expect(CSVDecoder.amount(text, decimal: decimal) == expected.flatMap { Decimal(string: $0) }, "\(text)")
        }
    }

    @Test func errorsNameLineAndColumn() throws {
        let bad = export.replacingOccurrences(of: "99,87", with: "lots")
        let e = try #require(decodeError(Array(bad.utf8), as: .csv, options: DecodeOptions(csv: mapping)))
        #expect(e.description == "csv: line 2, column 'AMOUNT': 'lots' is not a decimal amount")
        var m = mapping
        m.columns["reference"] = "MEMO"
        let missing = try #require(decodeError(Array(export.utf8), as: .csv, options: DecodeOptions(csv: m)))
        #expect(missing.description.contains("column 'MEMO' (mapped to reference) is not in the header"))
        #expect(decodeError(Array(export.utf8), as: .csv)?.description.contains("no column mapping") == true)
    }

    /// Exports give countries as alpha-2 or alpha-3 codes in either case; the transaction gets
    /// alpha-2, and anything else is an error naming the row and column.
    @Test func countryCodesOfEitherLengthBecomeAlpha2() throws {
        var m = mapping
        m.columns["debtor.country"] = "FROM"
        m.columns["creditor.country"] = "TO"
        let file = "TXN_ID;ACCOUNT_ID;COUNTER_PARTY;TYPE;AMOUNT;STEP;FROM;TO\n1;A-1;B-2;WIRE;5,00;1;DEU;ir\n2;A-1;B-2;WIRE;5,00;1;;GBR\n"
        let txs = try FeedDecoder.decode(Array(file.utf8), as: .csv, options: DecodeOptions(csv: m)).compactMap {
            if case .transaction(let t) = $0 { t } else { nil }
        }
        #expect(txs.map(\.debtor.country) == ["DE", nil])
        #expect(txs.map(\.creditor.country) == ["IR", "GB"])
        let bad = file.replacingOccurrences(of: ";GBR", with: ";Germany")
        let e = try #require(decodeError(Array(bad.utf8), as: .csv, options: DecodeOptions(csv: m)))
        #expect(e.description == "csv: line 3, column 'TO': 'Germany' is not an ISO 3166-1 country code (alpha-2 or alpha-3)")
    }

    @Test func timePatterns() {
        let t = CSVDecoder.time("24.12.2023 18:05", .pattern("dd.MM.yyyy HH:mm", offsetSeconds: 3600))
        #expect(t == EventTime(rfc3339: "2023-12-24T17:05:00Z"))
        #expect(CSVDecoder.time("31.02.2023 18:05", .pattern("dd.MM.yyyy HH:mm", offsetSeconds: 0)) == nil)
        #expect(CSVDecoder.time("1700000000", .unixSeconds) == EventTime(rfc3339: "2023-11-14T22:13:20Z"))
    }
}

/// Hostile input: decoders must answer every input with events or a `FormatError` — never
/// crash, hang or grow without bound. Truncations and seeded byte mutations of every fixture,
/// plus the classic XML attacks.
@Suite struct HostileInputTests {
    struct Rng: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test func truncatedAndMutatedFixturesNeverCrash() throws {
        var files = try fixtureFiles("passenger/gtas").filter { !$0.hasSuffix("pnrWithBags.txt") }
        files += try fixtureFiles("passenger/ediclean/original")
        files += try fixtureFiles("payments/iso20022") + fixtureFiles("payments/swift_mt") + fixtureFiles("payments/fedwire_faim")
        var rng = Rng(state: 20_261_129)
        var outcomes = [0, 0]
        let options = DecodeOptions(cardHashKey: cardKey, csv: CSVMapping(columns: ["ts": "a", "amount": "b", "debtor.account": "c", "creditor.account": "d"]))
        for file in files {
            let original = try fixture(file)
            let format = FeedFormat.detect(original)
            var variants: [[UInt8]] = []
            for cut in stride(from: 0, to: original.count, by: max(1, original.count / 24)) { variants.append(Array(original[..<cut])) }
            for _ in 0 ..< 40 {
                var m = original
                for _ in 0 ..< 1 + Int(rng.next() % 8) {
                    let i = Int(rng.next() % UInt64(max(1, m.count)))
                    switch rng.next() % 4 {
                    case 0: if !m.isEmpty { m[i] = UInt8(truncatingIfNeeded: rng.next()) }       // any byte, invalid UTF-8 included
                    case 1: if !m.isEmpty { m.remove(at: i) }
                    case 2: m.insert(contentsOf: Array("'+:?<>{}*$\n".utf8).shuffled(using: &rng), at: min(i, m.count))
                    default: m.insert(contentsOf: m[i ..< min(m.count, i + 64)], at: min(i, m.count))   // duplicated run
                    }
                }
                variants.append(m)
            }
            for v in variants {
                for f in [format, nil, .csv] {
                    do { _ = try FeedDecoder.decode(v, as: f, options: options); outcomes[0] += 1 } catch { outcomes[1] += 1 }
                }
            }
        }
        // Both outcomes occur: the mutations are not all harmless, nor all fatal.
        #expect(outcomes[0] > 0 && outcomes[1] > 0)
    }

    @Test func xmlAttacksAreRefused() {
        let billionLaughs = Array("""
            <?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>
            <Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08">&lol2;</Document>
            """.utf8)
        #expect(decodeError(billionLaughs, as: nil)?.description.contains("DOCTYPE declarations are not accepted") == true)
        let deep = Array(("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08\">" + String(repeating: "<a>", count: 100_000)).utf8)
        #expect(decodeError(deep, as: nil)?.description.contains("nested deeper than 64") == true)
        let external = Array("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08\"><a>&xxe;</a></Document>".utf8)
        #expect(decodeError(external, as: nil)?.description.contains("undefined entity '&xxe;'") == true)
        let badUTF8: [UInt8] = Array("<Document>\n<a>".utf8) + [0xC3, 0x28] + Array("</a></Document>".utf8)
        #expect(decodeError(badUTF8, as: .iso20022)?.description == "iso20022: line 2: malformed XML: input is not valid UTF-8")
    }

    @Test func hugeSegmentsAndMessagesAreBounded() {
        let huge = Array(("UNB+UNOA:4+A+B+200101:0000+1'UNH+1+PAXLST:D:05B:UN:IATA'FTX+" + String(repeating: "X", count: 2 << 20) + "'").utf8)
        #expect(decodeError(huge, as: .paxlst)?.description.contains("segment longer than") == true)
        let tooBig = [UInt8](repeating: 0x20, count: DecodeLimits.maxMessageBytes + 1)
        #expect(decodeError(tooBig, as: .paxlst)?.description.contains("exceeds the") == true)
    }
}
