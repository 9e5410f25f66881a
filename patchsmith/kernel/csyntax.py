"""Just enough C to tell a definition from a use: tokens, and what a hunk declares.

The dependency warnings (:mod:`patchsmith.kernel.deps`) ask two questions of a hunk: which
identifiers do its added lines *use* as code (not in a comment, a string or an ``#include``),
and which identifiers' *definitions or declarations* does it change (a macro, a function's
prototype, a struct or union member, an enum constant, a typedef, a global variable, an
``EXPORT_SYMBOL``). The first needs a tokenizer; the second needs to know where in the file a
line is: ``int count;`` is a member inside ``struct x { ... }``, a global at file scope, and a
local variable inside a function body, which nothing outside the function sees.

Where a hunk is comes from the file it patches, read the way kernel style writes C (checkpatch
enforces it): every top-level construct starts in column 0 (a function's header, ``struct x {``,
a prototype) and a function body or a struct ends with ``}`` in column 0. So the lines above the
hunk are scanned back to the last column-0 line that says what follows, and the hunk's own lines
are then followed token by token, braces counted. Without the file, the hunk's section header
(``@@ ... @@ struct dm_verity {``, which diff takes from the same kind of line) stands in.

A definition counts as changed when a statement that declares it holds an added line and the
old side has no statement declaring it with the same tokens: a comment or whitespace change, a
sparse annotation (``__rcu``), or a declaration moved unchanged, changes nothing.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence

from patchsmith.record import record


class Kind(enum.StrEnum):
    """What a changed definition is."""

    MACRO = "macro"
    FUNCTION = "function"
    MEMBER = "member"
    ENUM_CONSTANT = "enum constant"
    TYPEDEF = "typedef"
    GLOBAL = "global"
    TAG = "struct tag"
    EXPORT = "exported symbol"


@record
class Definition:
    """An identifier whose definition or declaration a hunk adds or changes."""

    name: str
    kind: Kind
    line: bytes
    """The first added line of the statement that declares it (the evidence)."""
    file_local: bool
    """Visible only in its own file (``static``, or a macro, type or member of a ``.c`` file)."""
    containers: tuple[str, ...] = ()
    """For a member: the names its struct or union goes by (tag, typedef name), when known. Code
    that names none of them cannot be using this member (``flags`` is a member of hundreds)."""
    statement: tuple[bytes, ...] = ()
    """The declaring statement's tokens, as compared (another hunk of the same file removing
    exactly this statement makes the pair a move, not a change)."""


@record
class Use:
    """An identifier an added line uses as code."""

    name: str
    line: bytes
    member: bool
    """Written as a member access (``->name`` or ``.name``)."""
    receiver: str | None = None
    """For a member access on a plain variable (``v->corrupted_errs``): the variable. ``None``
    when the left side is a call, a cast, an element or another member (the type is not
    known from the line alone)."""
    through_call: bool = False
    """The left side ends with ``)``: a macro or function returns the struct
    (``SLAVE_AD_INFO(slave)->port_priority``)."""


# Tokens, in the order tried: comment starts, strings and characters, identifiers, numbers, and
# any other single character. "/*" opens a comment that may end on a later line.
_TOKEN = re.compile(
    rb"""(?P<line_comment>//.*)
       |(?P<block>/\*)
       |(?P<string>"(?:[^"\\\n]|\\.)*"?)
       |(?P<char>'(?:[^'\\\n]|\\.)*'?)
       |(?P<identifier>[A-Za-z_][A-Za-z0-9_]*)
       |(?P<number>\.?[0-9](?:[eEpP][+-]|[A-Za-z0-9_.])*)
       |(?P<arrow>->)
       |(?P<space>\s+)
       |(?P<other>.)""",
    re.X | re.S,
)

KEYWORDS = frozenset(
    b"""auto break case char const continue default do double else enum extern float for goto
    if inline int long register restrict return short signed sizeof static struct switch typedef
    union unsigned void volatile while _Bool bool true false NULL asm __asm__ __attribute__
    typeof __typeof__ __always_inline __init __exit __user __iomem __rcu __percpu __must_check
    __maybe_unused __read_mostly __ro_after_init __initdata __cold noinline notrace
    defined""".split()
)

# Words that never name what a kernel patch changes, whatever the file: the types and helpers
# every file uses. A left-out hunk that "changes" them (a typedef of u32 in a uapi header) would
# otherwise tie every kept hunk to it.
_COMMON = frozenset(
    b"""u8 u16 u32 u64 s8 s16 s32 s64 __u8 __u16 __u32 __u64 __s8 __s16 __s32 __s64 __le16 __le32
    __le64 __be16 __be32 __be64 size_t ssize_t loff_t gfp_t uint8_t uint16_t uint32_t uint64_t
    int8_t int16_t int32_t int64_t uintptr_t bool EXPORT_SYMBOL EXPORT_SYMBOL_GPL""".split()
)

_AGGREGATES = {b"struct": Kind.MEMBER, b"union": Kind.MEMBER, b"enum": Kind.ENUM_CONSTANT}

# #define NAME    # undef NAME      (the macro a preprocessor line defines)
_DEFINE = re.compile(rb"^\s*#\s*(?:define|undef)\s+([A-Za-z_]\w*)")
_DIRECTIVE = re.compile(rb"^\s*#\s*([a-z]+)")


def tokens(line: bytes, in_comment: bool = False) -> tuple[list[bytes], bool]:
    """The code tokens of one line (identifiers, numbers, punctuation; ``->`` is one token;
    strings and characters become ``"``/``'``), and whether a block comment is open after it."""
    found: list[bytes] = []
    at = 0
    size = len(line)
    if in_comment:
        end = line.find(b"*/")
        if end < 0:
            return found, True
        at = end + 2
    while at < size:
        match = _TOKEN.match(line, at)
        if match is None:  # pragma: no cover - the last alternative matches any character
            break
        kind = match.lastgroup
        if kind == "line_comment":
            break
        if kind == "block":
            end = line.find(b"*/", match.end())
            if end < 0:
                return found, True
            at = end + 2
            continue
        if kind == "string":
            found.append(b'"')
        elif kind == "char":
            found.append(b"'")
        elif kind != "space":
            found.append(match.group())
        at = match.end()
    return found, False


def uses(ops: str, texts: Sequence[bytes]) -> list[Use]:
    """Identifiers the added lines of a hunk use as code, in order: keywords, ``#include``
    lines, the name a ``#define`` defines, comments and strings left out. Context lines are
    read too, for the comments they open."""
    found: list[Use] = []
    in_comment = _starts_in_comment(ops, texts)
    for op, line in zip(ops, texts, strict=True):
        if op == "-":
            continue
        directive = None if in_comment else _DIRECTIVE.match(line)
        words, in_comment = tokens(line, in_comment)
        if op != "+":
            continue
        if directive is not None:
            if directive.group(1) in (b"include", b"pragma", b"error", b"warning"):
                continue
            words = words[2:]  # '#' and the directive
            if directive.group(1) in (b"define", b"undef") and words:
                words = words[1:]
        for index, word in enumerate(words):
            if _is_identifier(word) and word not in KEYWORDS and word not in _COMMON:
                previous = words[index - 1] if index else b""
                member = previous in (b".", b"->")
                receiver = None
                through_call = False
                if member and index >= 2:
                    left = words[index - 2]
                    before_left = words[index - 3] if index >= 3 else b""
                    through_call = left == b")"
                    if _is_identifier(left) and before_left not in (b".", b"->"):
                        receiver = left.decode("ascii")
                found.append(Use(word.decode("ascii"), line, member, receiver, through_call))
    return found


def _starts_in_comment(ops: str, texts: Sequence[bytes]) -> bool:
    """Whether a hunk starts inside a block comment: its first line reads `` * text`` or
    `` */`` (kernel comment style) before any ``/*``."""
    for op, line in zip(ops, texts, strict=True):
        if op == "-":
            continue
        stripped = line.strip()
        if not stripped:
            continue
        return stripped.startswith(b"*") and not stripped.startswith(b"*/*")
    return False


def _is_identifier(word: bytes) -> bool:
    first = word[:1]
    return first.isalpha() or first == b"_"


# --- where a line is ------------------------------------------------------------------------------


class _Frame(enum.Enum):
    FILE = "file"
    FUNCTION = "function"
    AGGREGATE = "aggregate"
    INITIALIZER = "initializer"
    BLOCK = "block"


@record
class _Scope:
    """One open brace (or the file itself) while following declarations: what kind of braces
    they are, and for an aggregate what its members are."""

    frame: _Frame
    kind: Kind | None = None
    """For an aggregate: the kind its members are (member, enum constant)."""
    tag: bytes | None = None
    """For a struct or union: its tag (an anonymous one inside another: the outer one's)."""
    first: int = 0
    """For an aggregate: where its members start in :attr:`_Follower.declared`."""


class _Declared:
    """One declaration a :class:`_Follower` saw."""

    __slots__ = ("containers", "kind", "lines", "name", "static", "words")

    def __init__(
        self,
        kind: Kind,
        name: bytes,
        words: tuple[bytes, ...],
        lines: tuple[int, ...],
        static: bool,
        containers: list[bytes] | None = None,
    ) -> None:
        self.kind = kind
        self.name = name
        self.words = words
        """The statement's tokens: what "changed" compares."""
        self.lines = lines
        """The hunk lines it spans (-1 for the lines above the hunk)."""
        self.static = static
        self.containers = containers if containers is not None else []
        """For a member: the struct's tag and typedef name, as far as they are known."""


# out_unlock:     err:  /* comment */       (a goto label: kernel style puts it in column 0, inside
# a function body; it starts nothing)
_LABEL = re.compile(rb"^[A-Za-z_][A-Za-z0-9_]*:(?!:)\s*(?:/[/*].*)?$")


def context_before(lines: Sequence[bytes]) -> Sequence[bytes]:
    """The lines above a hunk that decide where it is: from the last column-0 line that starts
    a top-level construct or ends one (``}``), to the end (see the module docstring)."""
    for number in range(len(lines) - 1, -1, -1):
        line = lines[number]
        first = line[:1]
        if first == b"}" or ((first.isalpha() or first == b"_") and not _LABEL.match(line)):
            return lines[number:]
    return ()


def context_from_section(section: bytes) -> Sequence[bytes]:
    """:func:`context_before` from a hunk's section header alone (no file to read): a function
    header is taken to be followed by its body's ``{``."""
    line = section.strip()
    if not line:
        return ()
    if b"(" in line and not line.endswith((b";", b"{")):
        return (line + b"\n", b"{\n")
    return (line + b"\n",)


class _Follower:
    """Follows lines token by token: the scope stack and the statements declared on the way."""

    def __init__(self) -> None:
        self.stack = [_Scope(_Frame.FILE)]
        self.statement: list[tuple[bytes, int]] = []
        self.saved: list[list[tuple[bytes, int]]] = []
        self.in_comment = False
        self.macro: tuple[bytes, list[bytes], list[int]] | None = None
        """A ``#define`` continued on the next line: its name, tokens and lines so far."""
        self.directive = False
        """A preprocessor line other than #define continued on the next line."""
        self.declared: list[_Declared] = []
        self.closed: list[tuple[int, int]] = []
        """Member ranges of aggregates closed in the statement now collected: a ``typedef``
        statement names them."""

    def feed(self, line: bytes, number: int) -> None:
        continued = line.rstrip(b"\r\n").endswith(b"\\")
        if self.macro is not None:
            name, words, lines = self.macro
            words.extend(tokens(line)[0])
            lines.append(number)
            if not continued:
                self.macro = None
                self._macro(name, words, lines)
            return
        if self.directive:
            self.directive = continued
            return
        if not self.in_comment:
            define = _DEFINE.match(line)
            if define is not None:
                words, _after = tokens(line)
                if continued:
                    self.macro = (define.group(1), words, [number])
                else:
                    self._macro(define.group(1), words, [number])
                return
            if _DIRECTIVE.match(line):
                self.directive = continued  # #include, #if, #endif: not part of a statement
                return
        words, self.in_comment = tokens(line, self.in_comment)
        for word in words:
            self._token(word, number)

    def _macro(self, name: bytes, words: list[bytes], lines: list[int]) -> None:
        self.declared.append(_Declared(Kind.MACRO, name, tuple(words), tuple(lines), False))

    def _token(self, word: bytes, number: int) -> None:
        top = self.stack[-1]
        if top.frame in (_Frame.FUNCTION, _Frame.BLOCK, _Frame.INITIALIZER):
            if word == b"{":
                self.stack.append(_Scope(_Frame.BLOCK))
            elif word == b"}":
                self.stack.pop()
                if top.frame == _Frame.FUNCTION:
                    self.statement = self.saved.pop() if self.saved else []
                elif top.frame == _Frame.INITIALIZER:
                    self.statement = self.saved.pop() if self.saved else []
                    self.statement.append((b"{}", number))
            return
        # At file scope or in a struct/union/enum body: collect a statement.
        if word == b"{":
            self._open(number)
            return
        if word == b"}":
            if len(self.stack) > 1:
                self._finish(number)
                closing = self.stack.pop()
                self.statement = self.saved.pop() if self.saved else []
                self.statement.append((b"{}", number))
                self.closed.append((closing.first, len(self.declared)))
            return
        if word == b";" or (word == b"," and top.kind == Kind.ENUM_CONSTANT):
            self.statement.append((word, number))
            self._finish(number)
            return
        self.statement.append((word, number))

    def _open(self, number: int) -> None:
        words = [w for w, _n in self.statement]
        aggregate = _aggregate_of(words)
        self.saved.append(self.statement)
        if aggregate is not None:
            self.statement = []
            tag = words[-1] if words and words[-1] not in _AGGREGATES else None
            if tag is not None and not _is_identifier(tag):
                tag = None
            outer = self.stack[-1]
            inherited = tag if tag is not None else outer.tag
            self.stack.append(_Scope(_Frame.AGGREGATE, aggregate, inherited, len(self.declared)))
            if tag is not None and outer.frame == _Frame.FILE:
                lines = (*(n for _w, n in self.saved[-1]), number)
                self.declared.append(_Declared(Kind.TAG, tag, tuple(words), lines, False))
        elif b"=" in words:
            self.statement = []
            self.stack.append(_Scope(_Frame.INITIALIZER))
        elif b"(" in words and self.stack[-1].frame == _Frame.FILE:
            # A function definition: its declarator is the statement, its body is private.
            self._declare(self.saved[-1], function_body=True)
            self.saved[-1] = []
            self.statement = []
            self.stack.append(_Scope(_Frame.FUNCTION))
        else:
            self.statement = []
            self.stack.append(_Scope(_Frame.BLOCK))

    def _finish(self, number: int) -> None:
        if self.statement:
            self._declare(self.statement, function_body=False)
        self.statement = []
        self.closed = []

    def _declare(self, statement: list[tuple[bytes, int]], function_body: bool) -> None:
        words = [w for w, _n in statement]
        lines = tuple(sorted({n for _w, n in statement}))
        static = b"static" in words
        top = self.stack[-1]
        found = _declared_name(words, top, function_body)
        if found is None:
            return
        kind, name = found
        containers = [top.tag] if kind == Kind.MEMBER and top.tag else []
        self.declared.append(_Declared(kind, name, tuple(words), lines, static, containers))
        if kind == Kind.TYPEDEF and b"{}" in words:
            # typedef struct { ... } name_t;  its members are reached through name_t too.
            for first, last in self.closed:
                for declared in self.declared[first:last]:
                    if declared.kind == Kind.MEMBER:
                        declared.containers.append(name)


def _aggregate_of(words: list[bytes]) -> Kind | None:
    """The member kind when ``words`` open a struct, union or enum body (``struct x {``,
    ``typedef enum {``, ``static struct { ... } name``)."""
    for index in range(len(words) - 1, -1, -1):
        word = words[index]
        if word in _AGGREGATES:
            rest = words[index + 1 :]
            if len(rest) <= 1 and b"=" not in words and b"(" not in rest:
                return _AGGREGATES[word]
            return None
    return None


def _declared_name(
    words: list[bytes], top: _Scope, function_body: bool
) -> tuple[Kind, bytes] | None:
    """What one statement declares, by where it is."""
    if not words:
        return None
    if words[0] == b"EXPORT_SYMBOL" or words[0].startswith(b"EXPORT_SYMBOL_"):
        inside = [w for w in words[1:] if _is_identifier(w)]
        return (Kind.EXPORT, inside[0]) if inside else None
    if top.frame == _Frame.AGGREGATE and top.kind == Kind.ENUM_CONSTANT:
        first = next((w for w in words if _is_identifier(w)), None)
        return (Kind.ENUM_CONSTANT, first) if first is not None else None
    depth = 0
    name: bytes | None = None
    pointer_name: bytes | None = None
    for index, word in enumerate(words):
        if word == b"(":
            if depth == 0 and index + 1 < len(words) and words[index + 1] == b"*":
                # int (*handler)(void *data): the name is inside the parentheses.
                following = [w for w in words[index + 2 :] if _is_identifier(w)]
                pointer_name = following[0] if following else None
            if depth == 0 and name is not None and pointer_name is None:
                break  # the parameter list of a function
            depth += 1
        elif word == b")":
            depth -= 1
        elif depth == 0 and word in (b"=", b"[", b":", b";", b","):
            break
        elif depth == 0 and _is_identifier(word) and word not in KEYWORDS:
            name = word
    if pointer_name is not None:
        kind = Kind.TYPEDEF if b"typedef" in words else _variable_kind(top)
        return kind, pointer_name
    if name is None:
        return None
    if b"typedef" in words:
        last = [w for w in words if _is_identifier(w) and w not in KEYWORDS]
        return (Kind.TYPEDEF, last[-1]) if last else None
    is_function = function_body or (
        b"(" in words and words.index(b"(") > 0 and words[words.index(b"(") - 1] == name
    )
    if top.frame == _Frame.AGGREGATE:
        return (_variable_kind(top), name) if not is_function or b"(" not in words else None
    if is_function:
        if name.isupper() and not function_body:
            return None  # DEFINE_MUTEX(lock); and the like: a macro call, not a prototype
        return Kind.FUNCTION, name
    if words[0] in _AGGREGATES:
        after = words[words.index(b"{}") + 1 :] if b"{}" in words else []
        named = [w for w in after if _is_identifier(w) and w not in KEYWORDS]
        if not named:
            return None  # struct foo; (a forward declaration) or the end of struct foo { }
        return Kind.GLOBAL, named[0]
    return Kind.GLOBAL, name


def _variable_kind(top: _Scope) -> Kind:
    return Kind.MEMBER if top.frame == _Frame.AGGREGATE else Kind.GLOBAL


def _follow(context: Sequence[bytes], lines: Sequence[tuple[int, bytes]]) -> list[_Declared]:
    follower = _Follower()
    for line in context:
        follower.feed(line, -1)
    follower.declared.clear()
    for number, line in lines:
        follower.feed(line, number)
    if follower.macro is not None:
        name, words, numbers = follower.macro
        follower._macro(name, words, numbers)
    if follower.statement and follower.stack[-1].frame in (_Frame.FILE, _Frame.AGGREGATE):
        follower._finish(-2)  # a statement cut by the end of the hunk
    return follower.declared


# Annotations for sparse, the kernel's checker: the compiler does not see them, so adding
# __rcu to a member changes nothing a module build depends on.
_ANNOTATIONS = frozenset(
    b"__rcu __user __iomem __percpu __force __bitwise __kernel __safe __nocast __private".split()
)


def _names(containers: Sequence[bytes]) -> tuple[str, ...]:
    return tuple(c.decode("ascii") for c in dict.fromkeys(containers))


def _compared(words: tuple[bytes, ...]) -> tuple[bytes, ...]:
    return tuple(word for word in words if word not in _ANNOTATIONS)


def changed_definitions(
    ops: str,
    texts: Sequence[bytes],
    before: Sequence[bytes] | None,
    section: bytes = b"",
    source_file: bool = False,
) -> list[Definition]:
    """The definitions a hunk adds or changes (see the module docstring).

    ``ops``/``texts`` are the hunk's lines (``" "``, ``"+"``, ``"-"``); ``before`` the file's
    lines above the hunk (``None`` when the hunk could not be placed: ``section`` is used);
    ``source_file`` says the file is a ``.c`` file, whose macros, types and statics stay in it.
    """
    return definition_changes(ops, texts, before, section, source_file)[0]


def definition_changes(
    ops: str,
    texts: Sequence[bytes],
    before: Sequence[bytes] | None,
    section: bytes = b"",
    source_file: bool = False,
) -> tuple[list[Definition], set[tuple[Kind, str, tuple[str, ...], tuple[bytes, ...]]]]:
    """:func:`changed_definitions`, and the statements the hunk removes (kind, name, the struct
    it is in, tokens as compared): what another hunk of the same file may be adding back
    elsewhere in the same struct (a move)."""
    context = context_before(before) if before is not None else context_from_section(section)
    new_side = [(n, t) for n, (op, t) in enumerate(zip(ops, texts, strict=True)) if op != "-"]
    old_side = [(n, t) for n, (op, t) in enumerate(zip(ops, texts, strict=True)) if op != "+"]
    old_declared = _follow(context, old_side)
    old = {(d.kind, d.name, _compared(d.words)) for d in old_declared}
    removed = {
        (d.kind, d.name.decode("ascii"), _names(d.containers), _compared(d.words))
        for d in old_declared
        if any(n >= 0 and ops[n] == "-" for n in d.lines)
    }
    found: list[Definition] = []
    seen: set[tuple[Kind, bytes]] = set()
    for declared in _follow(context, new_side):
        kind, name, words, lines, static = (
            declared.kind,
            declared.name,
            declared.words,
            declared.lines,
            declared.static,
        )
        added = [n for n in lines if n >= 0 and ops[n] == "+"]
        if not added or (kind, name, _compared(words)) in old or (kind, name) in seen:
            continue
        if name in _COMMON or name in KEYWORDS:
            continue
        seen.add((kind, name))
        local = (
            static
            or (source_file and kind in (Kind.MACRO, Kind.MEMBER, Kind.TYPEDEF, Kind.TAG))
            or (source_file and kind == Kind.ENUM_CONSTANT)
        )
        containers = _names(declared.containers)
        found.append(
            Definition(
                name.decode("ascii"),
                kind,
                texts[added[0]],
                local,
                containers,
                _compared(words),
            )
        )
    return found, removed
