/// ISO 3166-1 country codes as the data gives them: transactions mostly in alpha-2, passenger
/// data in alpha-3 (PAXLST's `NAT` segment, PNRGOV's `SSR DOCS`, passports' machine-readable
/// zones). One table, so that screening's evidence and the goAML draft read them alike.
public enum CountryCodes {
    /// Each alpha-3 code followed by its alpha-2 code (from Debian's iso-codes, ISO 3166-1).
    private static let table = """
        ABWAW AFGAF AGOAO AIAAI ALAAX ALBAL ANDAD AREAE ARGAR ARMAM ASMAS ATAAQ ATFTF ATGAG AUSAU AUTAT
        AZEAZ BDIBI BELBE BENBJ BESBQ BFABF BGDBD BGRBG BHRBH BHSBS BIHBA BLMBL BLRBY BLZBZ BMUBM BOLBO
        BRABR BRBBB BRNBN BTNBT BVTBV BWABW CAFCF CANCA CCKCC CHECH CHLCL CHNCN CIVCI CMRCM CODCD COGCG
        COKCK COLCO COMKM CPVCV CRICR CUBCU CUWCW CXRCX CYMKY CYPCY CZECZ DEUDE DJIDJ DMADM DNKDK DOMDO
        DZADZ ECUEC EGYEG ERIER ESHEH ESPES ESTEE ETHET FINFI FJIFJ FLKFK FRAFR FROFO FSMFM GABGA GBRGB
        GEOGE GGYGG GHAGH GIBGI GINGN GLPGP GMBGM GNBGW GNQGQ GRCGR GRDGD GRLGL GTMGT GUFGF GUMGU GUYGY
        HKGHK HMDHM HNDHN HRVHR HTIHT HUNHU IDNID IMNIM INDIN IOTIO IRLIE IRNIR IRQIQ ISLIS ISRIL ITAIT
        JAMJM JEYJE JORJO JPNJP KAZKZ KENKE KGZKG KHMKH KIRKI KNAKN KORKR KWTKW LAOLA LBNLB LBRLR LBYLY
        LCALC LIELI LKALK LSOLS LTULT LUXLU LVALV MACMO MAFMF MARMA MCOMC MDAMD MDGMG MDVMV MEXMX MHLMH
        MKDMK MLIML MLTMT MMRMM MNEME MNGMN MNPMP MOZMZ MRTMR MSRMS MTQMQ MUSMU MWIMW MYSMY MYTYT NAMNA
        NCLNC NERNE NFKNF NGANG NICNI NIUNU NLDNL NORNO NPLNP NRUNR NZLNZ OMNOM PAKPK PANPA PCNPN PERPE
        PHLPH PLWPW PNGPG POLPL PRIPR PRKKP PRTPT PRYPY PSEPS PYFPF QATQA REURE ROURO RUSRU RWARW SAUSA
        SDNSD SENSN SGPSG SGSGS SHNSH SJMSJ SLBSB SLESL SLVSV SMRSM SOMSO SPMPM SRBRS SSDSS STPST SURSR
        SVKSK SVNSI SWESE SWZSZ SXMSX SYCSC SYRSY TCATC TCDTD TGOTG THATH TJKTJ TKLTK TKMTM TLSTL TONTO
        TTOTT TUNTN TURTR TUVTV TWNTW TZATZ UGAUG UKRUA UMIUM URYUY USAUS UZBUZ VATVA VCTVC VENVE VGBVG
        VIRVI VNMVN VUTVU WLFWF WSMWS YEMYE ZAFZA ZMBZM ZWEZW
        """

    /// Alpha-3 codes, and ICAO 9303's passport codes (`D` for Germany, `GBD`…`GBS` for British
    /// nationals, `RKS` for Kosovo), to alpha-2.
    private static let fromAlpha3: [String: String] = {
        var m: [String: String] = [:]
        for pair in table.split(whereSeparator: \.isWhitespace) { m[String(pair.prefix(3))] = String(pair.dropFirst(3)) }
        for code in ["GBD", "GBN", "GBO", "GBP", "GBS"] { m[code] = "GB" }
        m["D"] = "DE"
        m["RKS"] = "XK"
        return m
    }()

    private static let alpha2Codes = Set(fromAlpha3.values)

    /// The alpha-2 code of an alpha-2 or alpha-3 code (or a passport's ICAO code), in any case;
    /// nil for anything else.
    public static func alpha2(_ code: String) -> String? {
        let c = code.uppercased()
        return c.utf8.count == 2 ? (alpha2Codes.contains(c) ? c : nil) : fromAlpha3[c]
    }

    /// A nationality as rules and alerts give it: its alpha-2 code when it is a code this table
    /// knows, else as the feed wrote it.
    public static func alpha2OrAsGiven(_ code: String) -> String { alpha2(code) ?? code }
}
