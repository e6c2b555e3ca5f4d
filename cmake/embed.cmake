# cmake -DIN=file -DOUT=file.cpp -DNAME=kSymbol -P embed.cmake
# Writes a C++ source defining `const unsigned char NAME[]` and `NAME_size`.
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" len)
math(EXPR size "${len} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUT}.tmp"
  "// generated from ${IN} by cmake/embed.cmake\n#include <cstddef>\n"
  "namespace hako::proc {\nextern const unsigned char ${NAME}[] = {${bytes}};\n"
  "extern const std::size_t ${NAME}_size = ${size};\n}\n")
file(RENAME "${OUT}.tmp" "${OUT}")
