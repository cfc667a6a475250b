
/*
 * Messages of the unit tests with the ENVELOPE and BODYSTRUCTURE that
 * Dovecot 2.3.19 (Debian 12) returned for them over IMAP, recorded with
 * bench/mime-vs-dovecot.sh FILE...; our output must be the same bytes.
 */


typedef struct {
    const char               *name;
    const char               *message;
    size_t                    len;
    const char               *envelope;
    const char               *bodystructure;
} mime_test_dovecot_t;


static const mime_test_dovecot_t  mime_test_dovecot[] = {

    { "01-multi",
      "From: \"Joe Q. Public\" <john.q.public@example.com>\r\n"
      "To: Mary Smith <mary@x.test>, jdoe@one.test, Who? <one@y.test>\r\n"
      "Cc: <boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.n"
      "et>\r\n"
      "Subject: test =?iso-8859-1?q?caf=E9?=\r\n"
      "Date: Tue, 1 Jul 2003 10:52:37 +0200\r\n"
      "Message-ID: <5678.21-Nov-1997@example.com>\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"XX\"\r\n"
      "\r\n"
      "preamble\r\n"
      "--XX\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n"
      "\r\n"
      "caf=C3=A9 =\r\n"
      "soft\r\n"
      "--XX\r\n"
      "Content-Type: application/octet-stream; name*0*=utf-8''a%20b; name*1="
      "\".pdf\"\r\n"
      "Content-Disposition: attachment; filename*=iso-8859-1'en'%E9t%E9.txt; "
      "size=5\r\n"
      "Content-Transfer-Encoding: base64\r\n"
      "\r\n"
      "aGVsbG8gd29ybGQ=\r\n"
      "--XX--\r\n"
      "epilogue\r\n",
      729,
      "(\"Tue, 1 Jul 2003 10:52:37 +0200\" \"test =?iso-8859-1?q?caf=E9?=\" ("
      "(\"Joe Q. Public\" NIL \"john.q.public\" \"example.com\")) ((\"Joe Q. "
      "Public\" NIL \"john.q.public\" \"example.com\")) ((\"Joe Q. Public\" N"
      "IL \"john.q.public\" \"example.com\")) ((\"Mary Smith\" NIL \"mary\" "
      "\"x.test\")(NIL NIL \"jdoe\" \"one.test\")(\"Who?\" NIL \"one\" \"y.te"
      "st\")) ((NIL NIL \"boss\" \"nil.test\")({16}\r\n"
      "Giant; \"Big\" Box NIL \"sysservices\" \"example.net\")) NIL NIL \"<56"
      "78.21-Nov-1997@example.com>\")",
      "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"quoted-printabl"
      "e\" 17 1 NIL NIL NIL NIL)(\"application\" \"octet-stream\" (\"name*\" "
      "\"utf-8''a%20b.pdf\") NIL NIL \"base64\" 16 NIL (\"attachment\" (\"siz"
      "e\" \"5\" \"filename*\" \"iso-8859-1'en'%E9t%E9.txt\")) NIL NIL) \"mix"
      "ed\" (\"boundary\" \"XX\") NIL NIL NIL)" },

    { "02-lf",
      "Subject: lf only\n"
      "Content-Type: multipart/alternative; boundary=b1\n"
      "\n"
      "--b1\n"
      "Content-Type: text/plain\n"
      "\n"
      "line1\n"
      "line2\n"
      "--b1\n"
      "Content-Type: text/html\n"
      "\n"
      "<p>x</p>\n"
      "--b1--\n",
      156,
      "(NIL \"lf only\" NIL NIL NIL NIL NIL NIL NIL NIL)",
      "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 12 1 "
      "NIL NIL NIL NIL)(\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL "
      "\"7bit\" 8 0 NIL NIL NIL NIL) \"alternative\" (\"boundary\" \"b1\") NI"
      "L NIL NIL)" },

    { "03-noend",
      "Content-Type: multipart/mixed; boundary=a\r\n"
      "\r\n"
      "--a\r\n"
      "Content-Type: multipart/mixed; boundary=b\r\n"
      "\r\n"
      "--b\r\n"
      "Content-Type: text/plain\r\n"
      "\r\n"
      "no final boundary\r\n"
      "--a\r\n"
      "\r\n"
      "second\r\n",
      162,
      "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
      "(((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 17 0"
      " NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"b\") NIL NIL NIL)(\"text\""
      " \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 8 1 NIL NIL NIL"
      " NIL) \"mixed\" (\"boundary\" \"a\") NIL NIL NIL)" },

    { "04-quoted-boundary",
      "Content-Type: multipart/alternative; boundary=\"q\"\r\n"
      "\r\n"
      "--q\r\n"
      "Content-Type: text/plain\r\n"
      "\r\n"
      "\"--q\" in a quote\r\n"
      "> --q-not\r\n"
      " --q indented\r\n"
      "--q\r\n"
      "--q\r\n"
      "\r\n"
      "--q--\r\n",
      149,
      "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
      "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 42 2 "
      "NIL NIL NIL NIL)(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL"
      " \"7bit\" 0 0 NIL NIL NIL NIL)(\"text\" \"plain\" (\"charset\" \"us-as"
      "cii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL) \"alternative\" (\"bounda"
      "ry\" \"q\") NIL NIL NIL)" },

    { "05-empty-parts",
      "Content-Type: multipart/mixed; boundary=e\r\n"
      "\r\n"
      "--e\r\n"
      "--e\r\n"
      "Content-Type: text/plain\r\n"
      "\r\n"
      "--e\r\n"
      "\r\n"
      "--e--\r\n",
      97,
      "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
      "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 N"
      "IL NIL NIL NIL)(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL "
      "\"7bit\" 0 0 NIL NIL NIL NIL)(\"text\" \"plain\" (\"charset\" \"us-asc"
      "ii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \""
      "e\") NIL NIL NIL)" },

    { "06-rfc822",
      "From: outer@x.test\r\n"
      "Subject: outer\r\n"
      "Content-Type: multipart/mixed; boundary=o\r\n"
      "\r\n"
      "--o\r\n"
      "Content-Type: text/plain\r\n"
      "\r\n"
      "see attached\r\n"
      "--o\r\n"
      "Content-Type: message/rfc822\r\n"
      "Content-Description: forwarded\r\n"
      "\r\n"
      "From: Inner Person <inner@y.test>\r\n"
      "To: someone@z.test\r\n"
      "Subject: inner subject\r\n"
      "Date: Wed, 2 Jul 2003 11:00:00 -0000\r\n"
      "Message-ID: <inner@y.test>\r\n"
      "Content-Type: multipart/alternative; boundary=i\r\n"
      "\r\n"
      "--i\r\n"
      "Content-Type: text/plain; charset=us-ascii\r\n"
      "\r\n"
      "inner text\r\n"
      "--i\r\n"
      "Content-Type: text/html; charset=us-ascii\r\n"
      "\r\n"
      "<b>inner</b>\r\n"
      "--i--\r\n"
      "--o--\r\n",
      534,
      "(NIL \"outer\" ((NIL NIL \"outer\" \"x.test\")) ((NIL NIL \"outer\" \""
      "x.test\")) ((NIL NIL \"outer\" \"x.test\")) NIL NIL NIL NIL NIL)",
      "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 12 0 "
      "NIL NIL NIL NIL)(\"message\" \"rfc822\" NIL NIL \"forwarded\" \"7bit\""
      " 330 (\"Wed, 2 Jul 2003 11:00:00 -0000\" \"inner subject\" ((\"Inner P"
      "erson\" NIL \"inner\" \"y.test\")) ((\"Inner Person\" NIL \"inner\" \""
      "y.test\")) ((\"Inner Person\" NIL \"inner\" \"y.test\")) ((NIL NIL \"s"
      "omeone\" \"z.test\")) NIL NIL NIL \"<inner@y.test>\") ((\"text\" \"pla"
      "in\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 0 NIL NIL NIL NIL)"
      "(\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 12 0 NI"
      "L NIL NIL NIL) \"alternative\" (\"boundary\" \"i\") NIL NIL NIL) 16 NI"
      "L NIL NIL NIL) \"mixed\" (\"boundary\" \"o\") NIL NIL NIL)" },

    { "07-digest",
      "Subject: digest\r\n"
      "Content-Type: multipart/digest; boundary=d\r\n"
      "\r\n"
      "--d\r\n"
      "\r\n"
      "From: x@y.test\r\n"
      "Subject: one\r\n"
      "\r\n"
      "body one\r\n"
      "--d\r\n"
      "Content-Type: text/plain\r\n"
      "\r\n"
      "not a message\r\n"
      "--d--\r\n",
      167,
      "(NIL \"digest\" NIL NIL NIL NIL NIL NIL NIL NIL)",
      "((\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 40 (NIL \"one\" ((NIL NI"
      "L \"x\" \"y.test\")) ((NIL NIL \"x\" \"y.test\")) ((NIL NIL \"x\" \"y."
      "test\")) NIL NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-as"
      "cii\") NIL NIL \"7bit\" 8 0 NIL NIL NIL NIL) 3 NIL NIL NIL NIL)(\"text"
      "\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 13 0 NIL NIL "
      "NIL NIL) \"digest\" (\"boundary\" \"d\") NIL NIL NIL)" },

    { "08-fields",
      "Content-Type: text/plain; charset=\"ISO-8859-1\"; format=flowed\r\n"
      "Content-Transfer-Encoding: 8BIT\r\n"
      "Content-ID: <id@x.test>\r\n"
      "Content-Description: a description\r\n"
      "Content-Language: en, de\r\n"
      "Content-Location: http://x.test/y\r\n"
      "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n"
      "Content-Disposition: inline\r\n"
      "\r\n"
      "body\r\n",
      294,
      "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
      "(\"text\" \"plain\" (\"charset\" \"ISO-8859-1\" \"format\" \"flowed\")"
      " \"<id@x.test>\" \"a description\" \"8BIT\" 6 1 \"Q2hlY2sgSW50ZWdyaXR5"
      "IQ==\" (\"inline\" NIL) (\"en\" \"de\") \"http://x.test/y\")" },

    { "09-8bit",
      "Subject: \344\366\374 8bit\r\n"
      "From: J\303\274rgen <j@x.test>\r\n"
      "\r\n"
      "body\r\n",
      53,
      "(NIL {8}\r\n"
      "\344\366\374 8bit (({7}\r\n"
      "J\303\274rgen NIL \"j\" \"x.test\")) (({7}\r\n"
      "J\303\274rgen NIL \"j\" \"x.test\")) (({7}\r\n"
      "J\303\274rgen NIL \"j\" \"x.test\")) NIL NIL NIL NIL NIL)",
      "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 1 NI"
      "L NIL NIL NIL)" },

    { "10-addresses",
      "From: Group: a@b.test, \"c\" <d@e.test>;, <@route1,@route2:user@host.t"
      "est>\r\n"
      "To: undisclosed-recipients:;\r\n"
      "Cc: (comment) x@y.test (Name Here), foo, <>, \"quoted local\"@q.test\r"
      "\n"
      "Bcc: Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>\r"
      "\n"
      "Reply-To: A Group(Some people):Chris Jones <c@(Chris's host.)public.ex"
      "ample>, joe@example.org, John <jdoe@one.test> (my dear friend); (the e"
      "nd of the group)\r\n"
      "Sender: \"Escape \\\\ me \\\" now\" <s@x.test>\r\n"
      "Subject: \"quoted\" \\ subject with \ttab\r\n"
      "In-Reply-To: <a@b> <c@d>\r\n"
      "Date: 1 Jan 70 00:00 EST\r\n"
      "\r\n"
      "x\r\n",
      536,
      "(\"1 Jan 70 00:00 EST\" {27}\r\n"
      "\"quoted\" \\ subject with tab ((NIL NIL \"Group\" NIL)(NIL NIL \"a\" "
      "\"b.test\")(\"c\" NIL \"d\" \"e.test\")(NIL NIL NIL NIL)(NIL \"@route1"
      ",@route2\" \"user\" \"host.test\")) (({17}\r\n"
      "Escape \\ me \" now NIL \"s\" \"x.test\")) ((NIL NIL \"A Group\" NIL)("
      "\"Chris Jones\" NIL \"c\" \"public.example\")(NIL NIL \"joe\" \"exampl"
      "e.org\")(\"John\" NIL \"jdoe\" \"one.test\")(NIL NIL NIL NIL)) ((NIL N"
      "IL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) ((\"Name Here\" N"
      "IL \"x\" \"y.test\")(NIL NIL \"foo\" \"MISSING_DOMAIN\")(NIL NIL \"MIS"
      "SING_MAILBOX\" \"MISSING_DOMAIN\")(NIL NIL \"quoted local\" \"q.test\""
      ")) ((\"Pete\" NIL \"pete\" \"silly.test\")) \"<a@b> <c@d>\" NIL)",
      "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1 NI"
      "L NIL NIL NIL)" },

    { "11-nochildren",
      "Content-Type: multipart/mixed; boundary=nope\r\n"
      "\r\n"
      "no boundary here\r\n",
      66,
      "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
      "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 N"
      "IL NIL NIL NIL) \"mixed\" (\"boundary\" \"nope\") NIL NIL NIL)" },

    { "12-noboundary",
      "Content-Type: multipart/mixed\r\n"
      "\r\n"
      "no boundary param\r\n",
      52,
      "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
      "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 N"
      "IL NIL NIL NIL) \"mixed\" NIL NIL NIL NIL)" },

    { "13-deep50",
      "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
      "\r\n"
      "--b1\r\n"
      "Content-Type: multipart/mixed; boundary=\"b2\"\r\n"
      "\r\n"
      "--b2\r\n"
      "Content-Type: multipart/mixed; boundary=\"b3\"\r\n"
      "\r\n"
      "--b3\r\n"
      "Content-Type: multipart/mixed; boundary=\"b4\"\r\n"
      "\r\n"
      "--b4\r\n"
      "Content-Type: multipart/mixed; boundary=\"b5\"\r\n"
      "\r\n"
      "--b5\r\n"
      "Content-Type: multipart/mixed; boundary=\"b6\"\r\n"
      "\r\n"
      "--b6\r\n"
      "Content-Type: multipart/mixed; boundary=\"b7\"\r\n"
      "\r\n"
      "--b7\r\n"
      "Content-Type: multipart/mixed; boundary=\"b8\"\r\n"
      "\r\n"
      "--b8\r\n"
      "Content-Type: multipart/mixed; boundary=\"b9\"\r\n"
      "\r\n"
      "--b9\r\n"
      "Content-Type: multipart/mixed; boundary=\"b10\"\r\n"
      "\r\n"
      "--b10\r\n"
      "Content-Type: multipart/mixed; boundary=\"b11\"\r\n"
      "\r\n"
      "--b11\r\n"
      "Content-Type: multipart/mixed; boundary=\"b12\"\r\n"
      "\r\n"
      "--b12\r\n"
      "Content-Type: multipart/mixed; boundary=\"b13\"\r\n"
      "\r\n"
      "--b13\r\n"
      "Content-Type: multipart/mixed; boundary=\"b14\"\r\n"
      "\r\n"
      "--b14\r\n"
      "Content-Type: multipart/mixed; boundary=\"b15\"\r\n"
      "\r\n"
      "--b15\r\n"
      "Content-Type: multipart/mixed; boundary=\"b16\"\r\n"
      "\r\n"
      "--b16\r\n"
      "Content-Type: multipart/mixed; boundary=\"b17\"\r\n"
      "\r\n"
      "--b17\r\n"
      "Content-Type: multipart/mixed; boundary=\"b18\"\r\n"
      "\r\n"
      "--b18\r\n"
      "Content-Type: multipart/mixed; boundary=\"b19\"\r\n"
      "\r\n"
      "--b19\r\n"
      "Content-Type: multipart/mixed; boundary=\"b20\"\r\n"
      "\r\n"
      "--b20\r\n"
      "Content-Type: multipart/mixed; boundary=\"b21\"\r\n"
      "\r\n"
      "--b21\r\n"
      "Content-Type: multipart/mixed; boundary=\"b22\"\r\n"
      "\r\n"
      "--b22\r\n"
      "Content-Type: multipart/mixed; boundary=\"b23\"\r\n"
      "\r\n"
      "--b23\r\n"
      "Content-Type: multipart/mixed; boundary=\"b24\"\r\n"
      "\r\n"
      "--b24\r\n"
      "Content-Type: multipart/mixed; boundary=\"b25\"\r\n"
      "\r\n"
      "--b25\r\n"
      "Content-Type: multipart/mixed; boundary=\"b26\"\r\n"
      "\r\n"
      "--b26\r\n"
      "Content-Type: multipart/mixed; boundary=\"b27\"\r\n"
      "\r\n"
      "--b27\r\n"
      "Content-Type: multipart/mixed; boundary=\"b28\"\r\n"
      "\r\n"
      "--b28\r\n"
      "Content-Type: multipart/mixed; boundary=\"b29\"\r\n"
      "\r\n"
      "--b29\r\n"
      "Content-Type: multipart/mixed; boundary=\"b30\"\r\n"
      "\r\n"
      "--b30\r\n"
      "Content-Type: multipart/mixed; boundary=\"b31\"\r\n"
      "\r\n"
      "--b31\r\n"
      "Content-Type: multipart/mixed; boundary=\"b32\"\r\n"
      "\r\n"
      "--b32\r\n"
      "Content-Type: multipart/mixed; boundary=\"b33\"\r\n"
      "\r\n"
      "--b33\r\n"
      "Content-Type: multipart/mixed; boundary=\"b34\"\r\n"
      "\r\n"
      "--b34\r\n"
      "Content-Type: multipart/mixed; boundary=\"b35\"\r\n"
      "\r\n"
      "--b35\r\n"
      "Content-Type: multipart/mixed; boundary=\"b36\"\r\n"
      "\r\n"
      "--b36\r\n"
      "Content-Type: multipart/mixed; boundary=\"b37\"\r\n"
      "\r\n"
      "--b37\r\n"
      "Content-Type: multipart/mixed; boundary=\"b38\"\r\n"
      "\r\n"
      "--b38\r\n"
      "Content-Type: multipart/mixed; boundary=\"b39\"\r\n"
      "\r\n"
      "--b39\r\n"
      "Content-Type: multipart/mixed; boundary=\"b40\"\r\n"
      "\r\n"
      "--b40\r\n"
      "Content-Type: multipart/mixed; boundary=\"b41\"\r\n"
      "\r\n"
      "--b41\r\n"
      "Content-Type: multipart/mixed; boundary=\"b42\"\r\n"
      "\r\n"
      "--b42\r\n"
      "Content-Type: multipart/mixed; boundary=\"b43\"\r\n"
      "\r\n"
      "--b43\r\n"
      "Content-Type: multipart/mixed; boundary=\"b44\"\r\n"
      "\r\n"
      "--b44\r\n"
      "Content-Type: multipart/mixed; boundary=\"b45\"\r\n"
      "\r\n"
      "--b45\r\n"
      "Content-Type: multipart/mixed; boundary=\"b46\"\r\n"
      "\r\n"
      "--b46\r\n"
      "Content-Type: multipart/mixed; boundary=\"b47\"\r\n"
      "\r\n"
      "--b47\r\n"
      "Content-Type: multipart/mixed; boundary=\"b48\"\r\n"
      "\r\n"
      "--b48\r\n"
      "Content-Type: multipart/mixed; boundary=\"b49\"\r\n"
      "\r\n"
      "--b49\r\n"
      "Content-Type: multipart/mixed; boundary=\"b50\"\r\n"
      "\r\n"
      "--b50\r\n"
      "Content-Type: text/plain\r\n"
      "\r\n"
      "deep\r\n"
      "--b50--\r\n"
      "--b49--\r\n"
      "--b48--\r\n"
      "--b47--\r\n"
      "--b46--\r\n"
      "--b45--\r\n"
      "--b44--\r\n"
      "--b43--\r\n"
      "--b42--\r\n"
      "--b41--\r\n"
      "--b40--\r\n"
      "--b39--\r\n"
      "--b38--\r\n"
      "--b37--\r\n"
      "--b36--\r\n"
      "--b35--\r\n"
      "--b34--\r\n"
      "--b33--\r\n"
      "--b32--\r\n"
      "--b31--\r\n"
      "--b30--\r\n"
      "--b29--\r\n"
      "--b28--\r\n"
      "--b27--\r\n"
      "--b26--\r\n"
      "--b25--\r\n"
      "--b24--\r\n"
      "--b23--\r\n"
      "--b22--\r\n"
      "--b21--\r\n"
      "--b20--\r\n"
      "--b19--\r\n"
      "--b18--\r\n"
      "--b17--\r\n"
      "--b16--\r\n"
      "--b15--\r\n"
      "--b14--\r\n"
      "--b13--\r\n"
      "--b12--\r\n"
      "--b11--\r\n"
      "--b10--\r\n"
      "--b9--\r\n"
      "--b8--\r\n"
      "--b7--\r\n"
      "--b6--\r\n"
      "--b5--\r\n"
      "--b4--\r\n"
      "--b3--\r\n"
      "--b2--\r\n"
      "--b1--\r\n",
      3257,
      "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
      "(((((((((((((((((((((((((((((((((((((((((((((((((((\"text\" \"plain\" "
      "(\"charset\" \"us-ascii\") NIL NIL \"7bit\" 4 0 NIL NIL NIL NIL) \"mix"
      "ed\" (\"boundary\" \"b50\") NIL NIL NIL) \"mixed\" (\"boundary\" \"b49"
      "\") NIL NIL NIL) \"mixed\" (\"boundary\" \"b48\") NIL NIL NIL) \"mixed"
      "\" (\"boundary\" \"b47\") NIL NIL NIL) \"mixed\" (\"boundary\" \"b46\""
      ") NIL NIL NIL) \"mixed\" (\"boundary\" \"b45\") NIL NIL NIL) \"mixed\""
      " (\"boundary\" \"b44\") NIL NIL NIL) \"mixed\" (\"boundary\" \"b43\") "
      "NIL NIL NIL) \"mixed\" (\"boundary\" \"b42\") NIL NIL NIL) \"mixed\" ("
      "\"boundary\" \"b41\") NIL NIL NIL) \"mixed\" (\"boundary\" \"b40\") NI"
      "L NIL NIL) \"mixed\" (\"boundary\" \"b39\") NIL NIL NIL) \"mixed\" (\""
      "boundary\" \"b38\") NIL NIL NIL) \"mixed\" (\"boundary\" \"b37\") NIL "
      "NIL NIL) \"mixed\" (\"boundary\" \"b36\") NIL NIL NIL) \"mixed\" (\"bo"
      "undary\" \"b35\") NIL NIL NIL) \"mixed\" (\"boundary\" \"b34\") NIL NI"
      "L NIL) \"mixed\" (\"boundary\" \"b33\") NIL NIL NIL) \"mixed\" (\"boun"
      "dary\" \"b32\") NIL NIL NIL) \"mixed\" (\"boundary\" \"b31\") NIL NIL "
      "NIL) \"mixed\" (\"boundary\" \"b30\") NIL NIL NIL) \"mixed\" (\"bounda"
      "ry\" \"b29\") NIL NIL NIL) \"mixed\" (\"boundary\" \"b28\") NIL NIL NI"
      "L) \"mixed\" (\"boundary\" \"b27\") NIL NIL NIL) \"mixed\" (\"boundary"
      "\" \"b26\") NIL NIL NIL) \"mixed\" (\"boundary\" \"b25\") NIL NIL NIL)"
      " \"mixed\" (\"boundary\" \"b24\") NIL NIL NIL) \"mixed\" (\"boundary\""
      " \"b23\") NIL NIL NIL) \"mixed\" (\"boundary\" \"b22\") NIL NIL NIL) "
      "\"mixed\" (\"boundary\" \"b21\") NIL NIL NIL) \"mixed\" (\"boundary\" "
      "\"b20\") NIL NIL NIL) \"mixed\" (\"boundary\" \"b19\") NIL NIL NIL) \""
      "mixed\" (\"boundary\" \"b18\") NIL NIL NIL) \"mixed\" (\"boundary\" \""
      "b17\") NIL NIL NIL) \"mixed\" (\"boundary\" \"b16\") NIL NIL NIL) \"mi"
      "xed\" (\"boundary\" \"b15\") NIL NIL NIL) \"mixed\" (\"boundary\" \"b1"
      "4\") NIL NIL NIL) \"mixed\" (\"boundary\" \"b13\") NIL NIL NIL) \"mixe"
      "d\" (\"boundary\" \"b12\") NIL NIL NIL) \"mixed\" (\"boundary\" \"b11"
      "\") NIL NIL NIL) \"mixed\" (\"boundary\" \"b10\") NIL NIL NIL) \"mixed"
      "\" (\"boundary\" \"b9\") NIL NIL NIL) \"mixed\" (\"boundary\" \"b8\") "
      "NIL NIL NIL) \"mixed\" (\"boundary\" \"b7\") NIL NIL NIL) \"mixed\" ("
      "\"boundary\" \"b6\") NIL NIL NIL) \"mixed\" (\"boundary\" \"b5\") NIL "
      "NIL NIL) \"mixed\" (\"boundary\" \"b4\") NIL NIL NIL) \"mixed\" (\"bou"
      "ndary\" \"b3\") NIL NIL NIL) \"mixed\" (\"boundary\" \"b2\") NIL NIL N"
      "IL) \"mixed\" (\"boundary\" \"b1\") NIL NIL NIL)" },

    { "14-type",
      "Content-Type: text\r\n"
      "Subject: =?utf-8?B?w6lsw6h2ZQ==?= =?utf-8?Q?_deux?=\r\n"
      "\r\n"
      "x\r\n",
      78,
      "(NIL \"=?utf-8?B?w6lsw6h2ZQ==?= =?utf-8?Q?_deux?=\" NIL NIL NIL NIL NI"
      "L NIL NIL NIL)",
      "(\"text\" \"\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1 NIL NIL"
      " NIL NIL)" },

    { "15-empty-rfc822",
      "Content-Type: message/rfc822\r\n"
      "\r\n",
      32,
      "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
      "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 0 (NIL NIL NIL NIL NIL NI"
      "L NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL "
      "NIL \"7bit\" 0 0 NIL NIL NIL NIL) 0 NIL NIL NIL NIL)" },

    { "16-dup",
      "Subject: first\r\n"
      "Subject: second\r\n"
      "From: a@first.test\r\n"
      "From: b@second.test\r\n"
      "Content-Type: text/plain; charset=us-ascii\r\n"
      "Content-Type: text/html\r\n"
      "\r\n"
      "x\r\n",
      148,
      "(NIL \"second\" ((NIL NIL \"a\" \"first.test\")(NIL NIL \"b\" \"second"
      ".test\")) ((NIL NIL \"a\" \"first.test\")(NIL NIL \"b\" \"second.test"
      "\")) ((NIL NIL \"a\" \"first.test\")(NIL NIL \"b\" \"second.test\")) N"
      "IL NIL NIL NIL NIL)",
      "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1 NI"
      "L NIL NIL NIL)" },

    { "17-nobody",
      "Subject: no blank line\r\n"
      "From: x@y",
      33,
      "(NIL \"no blank line\" ((NIL NIL \"x\" \"y\")) ((NIL NIL \"x\" \"y\"))"
      " ((NIL NIL \"x\" \"y\")) NIL NIL NIL NIL NIL)",
      "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NI"
      "L NIL NIL NIL)" },

    { "18-params",
      "Content-Type: Application/X-Thing; NAME=\"a \\\"q\\\" b\"; b=tok; empt"
      "y=\"\"; c*=us-ascii'en'x%41y; d*0=\"one \"; d*1=\"two\"\r\n"
      "Content-Disposition: Attachment; FileName=\"report.pdf\"; creation-dat"
      "e=\"Wed, 12 Feb 1997 16:29:51 -0500\"\r\n"
      "\r\n"
      "x\r\n",
      225,
      "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
      "(\"Application\" \"X-Thing\" (\"NAME\" \"a \\\"q\\\" b\" \"b\" \"tok\""
      " \"empty\" \"\" \"c*\" \"us-ascii'en'x%41y\" \"d\" \"one two\") NIL NI"
      "L \"7bit\" 3 NIL (\"Attachment\" (\"FileName\" \"report.pdf\" \"creati"
      "on-date\" \"Wed, 12 Feb 1997 16:29:51 -0500\")) NIL NIL)" },

    { "19-lines",
      "Content-Type: multipart/mixed; boundary=\"=_x\"\r\n"
      "\r\n"
      "--=_x\r\n"
      "Content-Type: text/plain\r\n"
      "\r\n"
      "a\r\n"
      "\r\n"
      "b\r\n"
      "--=_x\r\n"
      "Content-Type: TEXT/Plain; Charset=US-ASCII\r\n"
      "\r\n"
      "no eol at end\r\n"
      "--=_x--\r\n",
      169,
      "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
      "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 2 N"
      "IL NIL NIL NIL)(\"TEXT\" \"Plain\" (\"Charset\" \"US-ASCII\") NIL NIL "
      "\"7bit\" 13 0 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"=_x\") NIL NI"
      "L NIL)" },

    { "20-rfc822-in-multi",
      "Content-Type: multipart/mixed; boundary=b\r\n"
      "\r\n"
      "--b\r\n"
      "Content-Type: message/rfc822\r\n"
      "\r\n"
      "Subject: inner\r\n"
      "Content-Type: text/plain\r\n"
      "\r\n"
      "inner body\r\n"
      "--b--\r\n",
      145,
      "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
      "((\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 54 (NIL \"inner\" NIL NI"
      "L NIL NIL NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii"
      "\") NIL NIL \"7bit\" 10 0 NIL NIL NIL NIL) 3 NIL NIL NIL NIL) \"mixed"
      "\" (\"boundary\" \"b\") NIL NIL NIL)" },

    { NULL, NULL, 0, NULL, NULL }
};
