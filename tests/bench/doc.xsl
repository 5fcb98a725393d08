<?xml version="1.0"?>
<!-- xalancbmk: group the catalogue by category, sort, total, format. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="html" indent="yes"/>
  <xsl:key name="bycat" match="item" use="@cat"/>
  <xsl:template match="/catalog">
    <html><body>
      <xsl:for-each select="item[generate-id() = generate-id(key('bycat', @cat)[1])]">
        <xsl:sort select="@cat"/>
        <xsl:variable name="g" select="key('bycat', @cat)"/>
        <h2><xsl:value-of select="@cat"/>: <xsl:value-of select="count($g)"/> items,
          <xsl:value-of select="format-number(sum($g/@price), '#.00')"/></h2>
        <table>
          <xsl:for-each select="$g">
            <xsl:sort select="@price" data-type="number" order="descending"/>
            <xsl:sort select="name"/>
            <xsl:if test="position() &lt;= 50 or contains(note, 'user')">
              <tr><td><xsl:value-of select="@id"/></td>
                <td><xsl:value-of select="translate(name, 'aeiou', 'AEIOU')"/></td>
                <td><xsl:value-of select="@price * @qty"/></td>
                <td><xsl:value-of select="substring-before(concat(note, ' '), ' ')"/>
                  <xsl:text> </xsl:text>
                  <xsl:value-of select="string-length(normalize-space(note))"/></td></tr>
            </xsl:if>
          </xsl:for-each>
        </table>
      </xsl:for-each>
    </body></html>
  </xsl:template>
</xsl:stylesheet>
