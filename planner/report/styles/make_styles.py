"""Regenerate the QML styles of the plan GeoPackage with PyQGIS (developer tool, not used at run time).

Run with a Python that has QGIS (Debian: ``apt-get install python3-qgis``), on a GeoPackage
written by ``planner.report.geopackage.write_geopackage``::

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 planner/report/styles/make_styles.py run/plan.gpkg

Writing the styles through QGIS itself keeps the QML valid for QGIS 3.x.
"""

import sys
from pathlib import Path

from qgis.core import (
    QgsApplication,
    QgsArrowSymbolLayer,
    QgsCategorizedSymbolRenderer,
    QgsFillSymbol,
    QgsLineSymbol,
    QgsMarkerSymbol,
    QgsPalLayerSettings,
    QgsProperty,
    QgsRendererCategory,
    QgsRuleBasedRenderer,
    QgsSingleSymbolRenderer,
    QgsSymbolLayer,
    QgsTextBufferSettings,
    QgsTextFormat,
    QgsVectorLayer,
    QgsVectorLayerSimpleLabeling,
)
from qgis.PyQt.QtGui import QColor, QFont

OUT = Path(__file__).parent


def labels(layer, field, size=9.0, max_scale_denominator=None):
    s = QgsPalLayerSettings()
    s.fieldName = field
    fmt = QgsTextFormat()
    fmt.setFont(QFont("WenQuanYi Micro Hei"))
    fmt.setSize(size)
    buf = QgsTextBufferSettings()
    buf.setEnabled(True)
    buf.setSize(0.8)
    buf.setColor(QColor("white"))
    fmt.setBuffer(buf)
    s.setFormat(fmt)
    if max_scale_denominator:
        s.scaleVisibility = True
        s.minimumScale = max_scale_denominator
        s.maximumScale = 0
    layer.setLabeling(QgsVectorLayerSimpleLabeling(s))
    layer.setLabelsEnabled(True)


def main(gpkg):
    app = QgsApplication([], False)
    app.initQgis()

    def lyr(name):
        v = QgsVectorLayer(f"{gpkg}|layername={name}", name, "ogr")
        assert v.isValid(), name
        return v

    # townships: outline only, dashed, names
    v = lyr("townships")
    sym = QgsFillSymbol.createSimple(
        {"style": "no", "outline_color": "51,51,51,255", "outline_width": "0.5", "outline_style": "dash"}
    )
    v.setRenderer(QgsSingleSymbolRenderer(sym))
    labels(v, "name_zh", 10)
    v.saveNamedStyle(str(OUT / "townships.qml"))

    # catchments: fill colour from the layer's "color" field, school names at large scales
    v = lyr("catchments_after_primary")
    sym = QgsFillSymbol.createSimple(
        {"color": "190,186,218,255", "outline_color": "255,255,255,255", "outline_width": "0.4"}
    )
    sym.setOpacity(0.75)
    sym.symbolLayer(0).setDataDefinedProperty(QgsSymbolLayer.PropertyFillColor, QgsProperty.fromField("color"))
    v.setRenderer(QgsSingleSymbolRenderer(sym))
    labels(v, "name_zh", 8, 100000)
    v.saveNamedStyle(str(OUT / "catchments.qml"))

    # settlements: grey dots, re-zoned ones ringed in purple
    v = lyr("settlements")
    root = QgsRuleBasedRenderer.Rule(None)
    ch = QgsMarkerSymbol.createSimple(
        {
            "name": "circle",
            "color": "255,255,255,0",
            "outline_color": "106,61,154,255",
            "outline_width": "0.5",
            "size": "3",
        }
    )
    root.appendChild(QgsRuleBasedRenderer.Rule(ch, 0, 0, '"changed" = 1', "调整学区 re-zoned"))
    dot = QgsMarkerSymbol.createSimple(
        {"name": "circle", "color": "85,85,85,255", "outline_style": "no", "size": "1.2"}
    )
    root.appendChild(QgsRuleBasedRenderer.Rule(dot, 0, 0, "", "居民点 settlement"))
    v.setRenderer(QgsRuleBasedRenderer(root))
    v.saveNamedStyle(str(OUT / "settlements.qml"))

    # schools: colour = compliance after, shape = status (new star, expanded square, closed cross)
    v = lyr("schools")
    cats = []
    for value, color, label in (
        ("pass", "26,150,65,255", "达标 passes"),
        ("fail", "215,25,28,255", "未达标 fails"),
        ("not_assessed", "158,158,158,255", "不参评 not assessed"),
    ):
        m = QgsMarkerSymbol.createSimple(
            {"name": "circle", "color": color, "outline_color": "0,0,0,255", "outline_width": "0.2", "size": "2.6"}
        )
        m.symbolLayer(0).setDataDefinedProperty(
            QgsSymbolLayer.PropertyName,
            QgsProperty.fromExpression(
                "CASE WHEN \"status\" = 'new' THEN 'star' WHEN \"status\" = 'expanded' THEN 'square' "
                "WHEN \"status\" = 'closed' THEN 'cross2' ELSE 'circle' END"
            ),
        )
        m.symbolLayer(0).setDataDefinedProperty(
            QgsSymbolLayer.PropertySize, QgsProperty.fromExpression("CASE WHEN \"status\" = 'new' THEN 5 ELSE 2.6 END")
        )
        cats.append(QgsRendererCategory(value, m, label))
    v.setRenderer(QgsCategorizedSymbolRenderer("compliance_after", cats))
    labels(v, "name_zh", 8, 50000)
    v.saveNamedStyle(str(OUT / "schools.qml"))

    # new sites: built = orange star, not built = hollow grey star
    v = lyr("new_sites")
    root = QgsRuleBasedRenderer.Rule(None)
    b = QgsMarkerSymbol.createSimple(
        {"name": "star", "color": "253,141,60,255", "outline_color": "0,0,0,255", "size": "5"}
    )
    root.appendChild(QgsRuleBasedRenderer.Rule(b, 0, 0, '"built" = 1', "新建 built"))
    n = QgsMarkerSymbol.createSimple(
        {"name": "star", "color": "255,255,255,0", "outline_color": "120,120,120,255", "size": "4"}
    )
    root.appendChild(QgsRuleBasedRenderer.Rule(n, 0, 0, "ELSE", "备选未建 candidate, not built"))
    v.setRenderer(QgsRuleBasedRenderer(root))
    v.saveNamedStyle(str(OUT / "new_sites.qml"))

    # teacher flows: curved arrows, colour by category, width by count
    v = lyr("teacher_flows")
    cats = []
    for value, color, label in (
        ("backbone", "215,25,28,255", "骨干教师 backbone"),
        ("pe_art", "26,150,65,255", "体育艺术 PE/art"),
        ("above_required", "43,131,186,255", "高学历 above-required"),
        ("other", "127,127,127,255", "其他 other"),
    ):
        line = QgsLineSymbol()
        arrow = QgsArrowSymbolLayer()
        arrow.setIsCurved(True)
        arrow.setIsRepeated(False)
        arrow.setArrowWidth(0.6)
        arrow.setArrowStartWidth(0.6)
        arrow.setHeadLength(2.5)
        arrow.setHeadThickness(1.5)
        arrow.setDataDefinedProperty(
            QgsSymbolLayer.PropertyArrowWidth, QgsProperty.fromExpression('0.4 + 0.5 * sqrt("count")')
        )
        arrow.setDataDefinedProperty(
            QgsSymbolLayer.PropertyArrowStartWidth, QgsProperty.fromExpression('0.4 + 0.5 * sqrt("count")')
        )
        arrow.subSymbol().setColor(QColor(*[int(c) for c in color.split(",")]))
        line.changeSymbolLayer(0, arrow)
        cats.append(QgsRendererCategory(value, line, label))
    v.setRenderer(QgsCategorizedSymbolRenderer("category", cats))
    v.saveNamedStyle(str(OUT / "teacher_flows.qml"))
    app.exitQgis()


if __name__ == "__main__":
    main(sys.argv[1])
