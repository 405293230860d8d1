<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.16-Białowieża" simplifyLocal="1" readOnly="0" simplifyDrawingHints="1" hasScaleBasedVisibilityFlag="0" simplifyMaxScale="1" simplifyDrawingTol="1" symbologyReferenceScale="-1" styleCategories="AllStyleCategories" simplifyAlgorithm="0" minScale="100000000" maxScale="0" labelsEnabled="0">
  <flags>
    <Identifiable>1</Identifiable>
    <Removable>1</Removable>
    <Searchable>1</Searchable>
    <Private>0</Private>
  </flags>
  <temporal mode="0" endField="" fixedDuration="0" startField="" enabled="0" endExpression="" durationField="" startExpression="" durationUnit="min" limitMode="0" accumulate="0">
    <fixedRange>
      <start></start>
      <end></end>
    </fixedRange>
  </temporal>
  <renderer-v2 type="RuleRenderer" symbollevels="0" enableorderby="0" forceraster="0" referencescale="-1">
    <rules key="{94f6e915-d07f-432f-9b05-ecd484b11ea3}">
      <rule symbol="0" label="调整学区 re-zoned" filter="&quot;changed&quot; = 1" key="{506c1df3-5010-46ce-87f6-8dec21966613}"/>
      <rule symbol="1" label="居民点 settlement" key="{638c7c2a-dee9-40dd-8923-f6489b2a5339}"/>
    </rules>
    <symbols>
      <symbol type="marker" force_rhr="0" alpha="1" name="0" clip_to_extent="1">
        <data_defined_properties>
          <Option type="Map">
            <Option type="QString" value="" name="name"/>
            <Option name="properties"/>
            <Option type="QString" value="collection" name="type"/>
          </Option>
        </data_defined_properties>
        <layer class="SimpleMarker" locked="0" enabled="1" pass="0">
          <Option type="Map">
            <Option type="QString" value="0" name="angle"/>
            <Option type="QString" value="square" name="cap_style"/>
            <Option type="QString" value="255,255,255,0" name="color"/>
            <Option type="QString" value="1" name="horizontal_anchor_point"/>
            <Option type="QString" value="bevel" name="joinstyle"/>
            <Option type="QString" value="circle" name="name"/>
            <Option type="QString" value="0,0" name="offset"/>
            <Option type="QString" value="3x:0,0,0,0,0,0" name="offset_map_unit_scale"/>
            <Option type="QString" value="MM" name="offset_unit"/>
            <Option type="QString" value="106,61,154,255" name="outline_color"/>
            <Option type="QString" value="solid" name="outline_style"/>
            <Option type="QString" value="0.5" name="outline_width"/>
            <Option type="QString" value="3x:0,0,0,0,0,0" name="outline_width_map_unit_scale"/>
            <Option type="QString" value="MM" name="outline_width_unit"/>
            <Option type="QString" value="diameter" name="scale_method"/>
            <Option type="QString" value="3" name="size"/>
            <Option type="QString" value="3x:0,0,0,0,0,0" name="size_map_unit_scale"/>
            <Option type="QString" value="MM" name="size_unit"/>
            <Option type="QString" value="1" name="vertical_anchor_point"/>
          </Option>
          <prop k="angle" v="0"/>
          <prop k="cap_style" v="square"/>
          <prop k="color" v="255,255,255,0"/>
          <prop k="horizontal_anchor_point" v="1"/>
          <prop k="joinstyle" v="bevel"/>
          <prop k="name" v="circle"/>
          <prop k="offset" v="0,0"/>
          <prop k="offset_map_unit_scale" v="3x:0,0,0,0,0,0"/>
          <prop k="offset_unit" v="MM"/>
          <prop k="outline_color" v="106,61,154,255"/>
          <prop k="outline_style" v="solid"/>
          <prop k="outline_width" v="0.5"/>
          <prop k="outline_width_map_unit_scale" v="3x:0,0,0,0,0,0"/>
          <prop k="outline_width_unit" v="MM"/>
          <prop k="scale_method" v="diameter"/>
          <prop k="size" v="3"/>
          <prop k="size_map_unit_scale" v="3x:0,0,0,0,0,0"/>
          <prop k="size_unit" v="MM"/>
          <prop k="vertical_anchor_point" v="1"/>
          <data_defined_properties>
            <Option type="Map">
              <Option type="QString" value="" name="name"/>
              <Option name="properties"/>
              <Option type="QString" value="collection" name="type"/>
            </Option>
          </data_defined_properties>
        </layer>
      </symbol>
      <symbol type="marker" force_rhr="0" alpha="1" name="1" clip_to_extent="1">
        <data_defined_properties>
          <Option type="Map">
            <Option type="QString" value="" name="name"/>
            <Option name="properties"/>
            <Option type="QString" value="collection" name="type"/>
          </Option>
        </data_defined_properties>
        <layer class="SimpleMarker" locked="0" enabled="1" pass="0">
          <Option type="Map">
            <Option type="QString" value="0" name="angle"/>
            <Option type="QString" value="square" name="cap_style"/>
            <Option type="QString" value="85,85,85,255" name="color"/>
            <Option type="QString" value="1" name="horizontal_anchor_point"/>
            <Option type="QString" value="bevel" name="joinstyle"/>
            <Option type="QString" value="circle" name="name"/>
            <Option type="QString" value="0,0" name="offset"/>
            <Option type="QString" value="3x:0,0,0,0,0,0" name="offset_map_unit_scale"/>
            <Option type="QString" value="MM" name="offset_unit"/>
            <Option type="QString" value="35,35,35,255" name="outline_color"/>
            <Option type="QString" value="no" name="outline_style"/>
            <Option type="QString" value="0" name="outline_width"/>
            <Option type="QString" value="3x:0,0,0,0,0,0" name="outline_width_map_unit_scale"/>
            <Option type="QString" value="MM" name="outline_width_unit"/>
            <Option type="QString" value="diameter" name="scale_method"/>
            <Option type="QString" value="1.2" name="size"/>
            <Option type="QString" value="3x:0,0,0,0,0,0" name="size_map_unit_scale"/>
            <Option type="QString" value="MM" name="size_unit"/>
            <Option type="QString" value="1" name="vertical_anchor_point"/>
          </Option>
          <prop k="angle" v="0"/>
          <prop k="cap_style" v="square"/>
          <prop k="color" v="85,85,85,255"/>
          <prop k="horizontal_anchor_point" v="1"/>
          <prop k="joinstyle" v="bevel"/>
          <prop k="name" v="circle"/>
          <prop k="offset" v="0,0"/>
          <prop k="offset_map_unit_scale" v="3x:0,0,0,0,0,0"/>
          <prop k="offset_unit" v="MM"/>
          <prop k="outline_color" v="35,35,35,255"/>
          <prop k="outline_style" v="no"/>
          <prop k="outline_width" v="0"/>
          <prop k="outline_width_map_unit_scale" v="3x:0,0,0,0,0,0"/>
          <prop k="outline_width_unit" v="MM"/>
          <prop k="scale_method" v="diameter"/>
          <prop k="size" v="1.2"/>
          <prop k="size_map_unit_scale" v="3x:0,0,0,0,0,0"/>
          <prop k="size_unit" v="MM"/>
          <prop k="vertical_anchor_point" v="1"/>
          <data_defined_properties>
            <Option type="Map">
              <Option type="QString" value="" name="name"/>
              <Option name="properties"/>
              <Option type="QString" value="collection" name="type"/>
            </Option>
          </data_defined_properties>
        </layer>
      </symbol>
    </symbols>
  </renderer-v2>
  <customproperties>
    <Option/>
  </customproperties>
  <blendMode>0</blendMode>
  <featureBlendMode>0</featureBlendMode>
  <layerOpacity>1</layerOpacity>
  <geometryOptions geometryPrecision="0" removeDuplicateNodes="0">
    <activeChecks type="StringList">
      <Option type="QString" value=""/>
    </activeChecks>
    <checkConfiguration/>
  </geometryOptions>
  <legend type="default-vector" showLabelLegend="0"/>
  <referencedLayers/>
  <fieldConfiguration>
    <field configurationFlags="None" name="fid">
      <editWidget type="">
        <config>
          <Option/>
        </config>
      </editWidget>
    </field>
    <field configurationFlags="None" name="settlement_id">
      <editWidget type="">
        <config>
          <Option/>
        </config>
      </editWidget>
    </field>
    <field configurationFlags="None" name="name_zh">
      <editWidget type="">
        <config>
          <Option/>
        </config>
      </editWidget>
    </field>
    <field configurationFlags="None" name="township_id">
      <editWidget type="">
        <config>
          <Option/>
        </config>
      </editWidget>
    </field>
    <field configurationFlags="None" name="area_type">
      <editWidget type="">
        <config>
          <Option/>
        </config>
      </editWidget>
    </field>
    <field configurationFlags="None" name="pupils_primary">
      <editWidget type="">
        <config>
          <Option/>
        </config>
      </editWidget>
    </field>
    <field configurationFlags="None" name="pupils_junior">
      <editWidget type="">
        <config>
          <Option/>
        </config>
      </editWidget>
    </field>
    <field configurationFlags="None" name="primary_before">
      <editWidget type="">
        <config>
          <Option/>
        </config>
      </editWidget>
    </field>
    <field configurationFlags="None" name="primary_after">
      <editWidget type="">
        <config>
          <Option/>
        </config>
      </editWidget>
    </field>
    <field configurationFlags="None" name="junior_before">
      <editWidget type="">
        <config>
          <Option/>
        </config>
      </editWidget>
    </field>
    <field configurationFlags="None" name="junior_after">
      <editWidget type="">
        <config>
          <Option/>
        </config>
      </editWidget>
    </field>
    <field configurationFlags="None" name="changed_primary">
      <editWidget type="">
        <config>
          <Option/>
        </config>
      </editWidget>
    </field>
    <field configurationFlags="None" name="changed_junior">
      <editWidget type="">
        <config>
          <Option/>
        </config>
      </editWidget>
    </field>
    <field configurationFlags="None" name="changed">
      <editWidget type="">
        <config>
          <Option/>
        </config>
      </editWidget>
    </field>
    <field configurationFlags="None" name="time_min_primary">
      <editWidget type="">
        <config>
          <Option/>
        </config>
      </editWidget>
    </field>
    <field configurationFlags="None" name="time_min_junior">
      <editWidget type="">
        <config>
          <Option/>
        </config>
      </editWidget>
    </field>
  </fieldConfiguration>
  <aliases>
    <alias index="0" field="fid" name=""/>
    <alias index="1" field="settlement_id" name=""/>
    <alias index="2" field="name_zh" name=""/>
    <alias index="3" field="township_id" name=""/>
    <alias index="4" field="area_type" name=""/>
    <alias index="5" field="pupils_primary" name=""/>
    <alias index="6" field="pupils_junior" name=""/>
    <alias index="7" field="primary_before" name=""/>
    <alias index="8" field="primary_after" name=""/>
    <alias index="9" field="junior_before" name=""/>
    <alias index="10" field="junior_after" name=""/>
    <alias index="11" field="changed_primary" name=""/>
    <alias index="12" field="changed_junior" name=""/>
    <alias index="13" field="changed" name=""/>
    <alias index="14" field="time_min_primary" name=""/>
    <alias index="15" field="time_min_junior" name=""/>
  </aliases>
  <defaults>
    <default expression="" applyOnUpdate="0" field="fid"/>
    <default expression="" applyOnUpdate="0" field="settlement_id"/>
    <default expression="" applyOnUpdate="0" field="name_zh"/>
    <default expression="" applyOnUpdate="0" field="township_id"/>
    <default expression="" applyOnUpdate="0" field="area_type"/>
    <default expression="" applyOnUpdate="0" field="pupils_primary"/>
    <default expression="" applyOnUpdate="0" field="pupils_junior"/>
    <default expression="" applyOnUpdate="0" field="primary_before"/>
    <default expression="" applyOnUpdate="0" field="primary_after"/>
    <default expression="" applyOnUpdate="0" field="junior_before"/>
    <default expression="" applyOnUpdate="0" field="junior_after"/>
    <default expression="" applyOnUpdate="0" field="changed_primary"/>
    <default expression="" applyOnUpdate="0" field="changed_junior"/>
    <default expression="" applyOnUpdate="0" field="changed"/>
    <default expression="" applyOnUpdate="0" field="time_min_primary"/>
    <default expression="" applyOnUpdate="0" field="time_min_junior"/>
  </defaults>
  <constraints>
    <constraint notnull_strength="1" exp_strength="0" constraints="3" unique_strength="1" field="fid"/>
    <constraint notnull_strength="0" exp_strength="0" constraints="0" unique_strength="0" field="settlement_id"/>
    <constraint notnull_strength="0" exp_strength="0" constraints="0" unique_strength="0" field="name_zh"/>
    <constraint notnull_strength="0" exp_strength="0" constraints="0" unique_strength="0" field="township_id"/>
    <constraint notnull_strength="0" exp_strength="0" constraints="0" unique_strength="0" field="area_type"/>
    <constraint notnull_strength="0" exp_strength="0" constraints="0" unique_strength="0" field="pupils_primary"/>
    <constraint notnull_strength="0" exp_strength="0" constraints="0" unique_strength="0" field="pupils_junior"/>
    <constraint notnull_strength="0" exp_strength="0" constraints="0" unique_strength="0" field="primary_before"/>
    <constraint notnull_strength="0" exp_strength="0" constraints="0" unique_strength="0" field="primary_after"/>
    <constraint notnull_strength="0" exp_strength="0" constraints="0" unique_strength="0" field="junior_before"/>
    <constraint notnull_strength="0" exp_strength="0" constraints="0" unique_strength="0" field="junior_after"/>
    <constraint notnull_strength="0" exp_strength="0" constraints="0" unique_strength="0" field="changed_primary"/>
    <constraint notnull_strength="0" exp_strength="0" constraints="0" unique_strength="0" field="changed_junior"/>
    <constraint notnull_strength="0" exp_strength="0" constraints="0" unique_strength="0" field="changed"/>
    <constraint notnull_strength="0" exp_strength="0" constraints="0" unique_strength="0" field="time_min_primary"/>
    <constraint notnull_strength="0" exp_strength="0" constraints="0" unique_strength="0" field="time_min_junior"/>
  </constraints>
  <constraintExpressions>
    <constraint exp="" field="fid" desc=""/>
    <constraint exp="" field="settlement_id" desc=""/>
    <constraint exp="" field="name_zh" desc=""/>
    <constraint exp="" field="township_id" desc=""/>
    <constraint exp="" field="area_type" desc=""/>
    <constraint exp="" field="pupils_primary" desc=""/>
    <constraint exp="" field="pupils_junior" desc=""/>
    <constraint exp="" field="primary_before" desc=""/>
    <constraint exp="" field="primary_after" desc=""/>
    <constraint exp="" field="junior_before" desc=""/>
    <constraint exp="" field="junior_after" desc=""/>
    <constraint exp="" field="changed_primary" desc=""/>
    <constraint exp="" field="changed_junior" desc=""/>
    <constraint exp="" field="changed" desc=""/>
    <constraint exp="" field="time_min_primary" desc=""/>
    <constraint exp="" field="time_min_junior" desc=""/>
  </constraintExpressions>
  <expressionfields/>
  <attributeactions/>
  <attributetableconfig sortExpression="" sortOrder="0" actionWidgetStyle="dropDown">
    <columns/>
  </attributetableconfig>
  <conditionalstyles>
    <rowstyles/>
    <fieldstyles/>
  </conditionalstyles>
  <storedexpressions/>
  <editform tolerant="1"></editform>
  <editforminit/>
  <editforminitcodesource>0</editforminitcodesource>
  <editforminitfilepath></editforminitfilepath>
  <editforminitcode><![CDATA[]]></editforminitcode>
  <featformsuppress>0</featformsuppress>
  <editorlayout>generatedlayout</editorlayout>
  <editable/>
  <labelOnTop/>
  <reuseLastValue/>
  <dataDefinedFieldProperties/>
  <widgets/>
  <previewExpression></previewExpression>
  <mapTip></mapTip>
  <layerGeometryType>0</layerGeometryType>
</qgis>
