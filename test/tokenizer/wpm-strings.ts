/** WordPiece edge-case strings shared by the WPM tests; expected ids always come from llama.cpp. */
export const WPM_EDGE = [
  "", " ", "\t\n\r\v\f", "Hello World", "HELLO world!", "hello,world", "don't stop", "U.S.A.", "e-mail", "#hashtag @user $5 ~x",
  "naïve café résumé", "e\u0301", "Å\u212B\u00C5", "ﬁne ligature", "Ǆ ǅ ǆ", "İstanbul", "ß ẞ", "ΣΑΣ σας", "ПРИВЕТ мир", "ﾊﾝｶｸ ＡＢＣ",
  "日本語のテキスト", "中文，标点。", "한국어 텍스트", "\u{20000}\u{2A6D6}", "\u{2B820}\u{2B91F}\u{2B920}", "\uF900\u{2F800}", "\u3000x\u3000",
  "a\u00A0b\u2009c\u2028d\u2029e\u0085f", "zero\u200Bwidth\u200Djoiner\uFEFFbom", "soft\u00ADhyphen", "\0a\0", "\x01\x02\x7f",
    "\uFFFD\uFFFD",
  "\uD800", "a\uDC00b", "x\uD83E", "🦙 llama 👩‍👩‍👧‍👦 🇯🇵", "€100 £5 ¥3 ₹9", "™ © ® ° ± × ÷", "«quoted» „x“ ‹y›", "a…b—c–d",
  "[CLS] [SEP] [MASK] [UNK] [PAD]", "[CLS]x[SEP]", "[unused0] [unused99]", "[cls]", "▁hello ▁", "##ing ##s", "\u1C89\uA7CB",
  "a".repeat(300), "ab".repeat(200), "x".repeat(50) + "!" + "y".repeat(50), "supercalifragilisticexpialidocious", "qqqqzzzzxxxx",
  "Ḁḁ ẞ ǰ ΐ ﬀ", "\u0300\u0301abc", "a\u0300\u0316\u0321", "ǅungla", "ＦＵＬＬ　ＷＩＤＴＨ", "١٢٣ ۴۵۶ ٧", "עברית עם ניקוד: שָׁלוֹם",
  "العربية مع تشكيل: مَرْحَبًا", "हिन्दी देवनागरी", "ไทย ภาษา", "ქართული", "Ελληνικά ΐΰ",
];

